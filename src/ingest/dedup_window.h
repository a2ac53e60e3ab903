#pragma once
// Remembers 64-bit record keys for a time window, in bounded memory, so that a client retry or a
// WAL replay inside the window never stores a record twice (processing.dedup_window_seconds).
// Keys live in time buckets (a sixteenth of the window each): a key is remembered for at least the
// window and at most one bucket longer. Past `max_entries` the oldest bucket goes early and the
// eviction is counted. Not thread-safe: the ingest pipeline holds its lock around it.

#include <chrono>
#include <cstdint>
#include <deque>
#include <vector>

namespace openwit::ingest {

class DedupWindow {
 public:
  using Clock = std::chrono::steady_clock;
  DedupWindow(std::chrono::milliseconds window, size_t max_entries, int buckets = 16);

  bool Contains(uint64_t key, Clock::time_point now);
  void Insert(uint64_t key, Clock::time_point now);
  // Forgets a key inserted in the newest buckets (a write that failed after all).
  void Erase(uint64_t key);

  size_t size() const { return size_; }
  uint64_t evicted() const { return evicted_; }
  size_t memory_bytes() const;

 private:
  // Open addressing, linear probing, 0 marks an empty slot (key 0 is stored as kZero).
  struct Bucket {
    Clock::time_point start;
    std::vector<uint64_t> slots;
    size_t count = 0;
    bool Contains(uint64_t key) const;
    bool Insert(uint64_t key);
    bool Erase(uint64_t key);
    void Grow();
  };
  void Expire(Clock::time_point now);

  const std::chrono::milliseconds window_;
  const std::chrono::milliseconds span_;
  const size_t max_entries_;
  std::deque<Bucket> buckets_;  // oldest first
  size_t size_ = 0;
  uint64_t evicted_ = 0;
};

}  // namespace openwit::ingest
