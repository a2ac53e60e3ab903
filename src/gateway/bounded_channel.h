#pragma once
// A bounded FIFO between threads (the Kafka source's consumer -> processing hand-over,
// ingestion-architecture.txt "Kafka ingestion": channel_buffer_size). Push blocks while the channel
// is full, so a slow reader slows its writers down (backpressure) and nothing is ever dropped;
// Close wakes everyone: readers take what is left (or nothing, when discarded) and then see the end.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

namespace openwit::gateway {

template <class T>
class BoundedChannel {
 public:
  explicit BoundedChannel(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Waits for room; false (and `item` not taken) when the channel is closed. *waited tells whether
  // it had to wait for room, for the caller's count of full channels.
  bool Push(T&& item, bool* waited = nullptr) {
    std::unique_lock lock(mu_);
    if (waited) *waited = items_.size() >= capacity_ && !closed_;
    not_full_.wait(lock, [&] { return items_.size() < capacity_ || closed_; });
    if (closed_) return false;
    items_.push_back(std::move(item));
    lock.unlock();
    not_empty_.notify_one();
    return true;
  }

  // The oldest item; nullopt once the channel is closed and empty.
  std::optional<T> Pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return !items_.empty() || closed_; });
    if (items_.empty()) return std::nullopt;
    std::optional<T> item(std::move(items_.front()));
    items_.pop_front();
    lock.unlock();
    not_full_.notify_one();
    return item;
  }

  // Ends the channel: Push fails from now on; with `discard` what is queued is dropped at once.
  void Close(bool discard) {
    std::deque<T> dropped;  // destroyed outside the lock
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      if (discard) dropped.swap(items_);
    }
    not_full_.notify_all();
    not_empty_.notify_all();
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return items_.size();
  }
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace openwit::gateway
