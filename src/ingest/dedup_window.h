#pragma once
// Remembers 64-bit record keys for a time window, in bounded memory, so that a client retry or a
// WAL replay inside the window never stores a record twice (processing.dedup_window_seconds).
//
// One open-addressing table (linear probing) holds every key with the generation it was last
// inserted in; a generation is a sixteenth of the window, so a key is remembered for at least the
// window and at most one generation longer. A lookup is one probe sequence whatever the window
// holds (the earlier design, one table per generation, paid a cache miss per generation: ~350 ns
// a lookup with a full window of 4M keys). Expired keys are removed by a sweep that walks a few
// slots ahead of a cursor at each insert, so no pause ever rebuilds the table for expiry alone.
// Past `max_entries` the oldest generation goes early and the eviction is counted. Not
// thread-safe: the ingest pipeline holds its lock around it.

#include <chrono>
#include <cstdint>
#include <deque>
#include <vector>

namespace openwit::ingest {

class DedupWindow {
 public:
  using Clock = std::chrono::steady_clock;
  DedupWindow(std::chrono::milliseconds window, size_t max_entries, int generations = 16);

  bool Contains(uint64_t key, Clock::time_point now);
  // Remembers the key from now on; true when it was not in the window yet (a new record), so that
  // one probe both asks and remembers.
  bool Insert(uint64_t key, Clock::time_point now);
  // Brings the key's slot toward the cache: a caller with many keys prefetches a few ahead, so
  // that their cache misses overlap instead of coming one after another.
  void Prefetch(uint64_t key) const {
    if (keys_.empty()) return;
    const size_t slot = Home(Stored(key));
    __builtin_prefetch(&keys_[slot]);
    __builtin_prefetch(&generations_of_[slot]);
  }
  // Forgets a key (a write that failed after all).
  void Erase(uint64_t key);

  size_t size() const { return size_; }  // live keys
  uint64_t evicted() const { return evicted_; }
  // How far back the window really remembers: the whole window, unless keys were evicted within
  // the last window to stay under max_entries; then how far back it reached after the last eviction.
  std::chrono::milliseconds held(Clock::time_point now) const;
  size_t memory_bytes() const;

 private:
  struct Generation {
    uint32_t id;
    Clock::time_point start;
    size_t count;  // live keys whose last insert was in this generation
  };
  static constexpr size_t kNotFound = ~size_t{0};
  static constexpr uint64_t kZero = 0x9e3779b97f4a7c15ull;  // stands for key 0, which marks empty slots
  static uint64_t Stored(uint64_t key) { return key == 0 ? kZero : key; }

  void Expire(Clock::time_point now);
  void DropOldestGeneration();
  bool Live(uint32_t generation) const { return generation >= oldest_live_; }
  Generation& GenerationOf(uint32_t id) { return generations_[id - generations_.front().id]; }
  size_t Home(uint64_t stored_key) const;
  size_t Next(size_t slot) const { return slot + 1 == keys_.size() ? 0 : slot + 1; }
  size_t Find(uint64_t stored_key) const;
  void Remove(size_t slot);
  void Sweep(size_t steps);
  void Resize(size_t capacity);

  const std::chrono::milliseconds window_;
  const std::chrono::milliseconds span_;
  const size_t max_entries_;
  std::vector<uint64_t> keys_;            // 0: empty slot (key 0 is stored as another value)
  std::vector<uint32_t> generations_of_;  // per slot: generation id of the key's last insert
  size_t used_ = 0;                       // slots holding a key, live or expired
  size_t cursor_ = 0;                     // where the sweep goes on
  std::deque<Generation> generations_;    // live generations, oldest first, ids contiguous
  uint32_t next_id_ = 1;
  uint32_t oldest_live_ = 1;  // generations below this id are expired
  size_t size_ = 0;
  uint64_t evicted_ = 0;
  Clock::time_point last_eviction_{};
  std::chrono::milliseconds held_after_eviction_{0};
};

// The keys of one batch, to find the records a batch repeats within itself. Open addressing
// sized for the batch up front: no allocation per key.
class BatchKeySet {
 public:
  explicit BatchKeySet(size_t expected);
  // True when the key was not in the set yet.
  bool Insert(uint64_t key);
  bool Contains(uint64_t key) const;

 private:
  std::vector<uint64_t> slots_;
  size_t count_ = 0;
  bool has_zero_ = false;
};

}  // namespace openwit::ingest
