#include "ingest/dedup_window.h"

#include <algorithm>

namespace openwit::ingest {
namespace {
constexpr uint64_t kZero = 0x9e3779b97f4a7c15ull;  // stands for key 0, which marks empty slots
inline uint64_t Stored(uint64_t key) { return key == 0 ? kZero : key; }
inline size_t Slot(uint64_t key, size_t mask) {
  return static_cast<size_t>((key * 0xff51afd7ed558ccdull) >> 17) & mask;
}
}  // namespace

bool DedupWindow::Bucket::Contains(uint64_t key) const {
  if (slots.empty()) return false;
  const size_t mask = slots.size() - 1;
  for (size_t i = Slot(key, mask);; i = (i + 1) & mask) {
    if (slots[i] == key) return true;
    if (slots[i] == 0) return false;
  }
}

bool DedupWindow::Bucket::Insert(uint64_t key) {
  if ((count + 1) * 2 > slots.size()) Grow();
  const size_t mask = slots.size() - 1;
  for (size_t i = Slot(key, mask);; i = (i + 1) & mask) {
    if (slots[i] == key) return false;
    if (slots[i] == 0) {
      slots[i] = key;
      ++count;
      return true;
    }
  }
}

bool DedupWindow::Bucket::Erase(uint64_t key) {
  if (slots.empty()) return false;
  const size_t mask = slots.size() - 1;
  size_t i = Slot(key, mask);
  while (slots[i] != key) {
    if (slots[i] == 0) return false;
    i = (i + 1) & mask;
  }
  // Backward-shift deletion keeps every probe chain unbroken.
  slots[i] = 0;
  --count;
  for (size_t j = (i + 1) & mask; slots[j] != 0; j = (j + 1) & mask) {
    uint64_t moved = slots[j];
    slots[j] = 0;
    for (size_t k = Slot(moved, mask);; k = (k + 1) & mask) {
      if (slots[k] == 0) {
        slots[k] = moved;
        break;
      }
    }
  }
  return true;
}

void DedupWindow::Bucket::Grow() {
  std::vector<uint64_t> old = std::move(slots);
  slots.assign(std::max<size_t>(64, old.size() * 2), 0);
  const size_t mask = slots.size() - 1;
  for (uint64_t key : old) {
    if (key == 0) continue;
    size_t i = Slot(key, mask);
    while (slots[i] != 0) i = (i + 1) & mask;
    slots[i] = key;
  }
}

DedupWindow::DedupWindow(std::chrono::milliseconds window, size_t max_entries, int buckets)
    : window_(window),
      span_(std::max<std::chrono::milliseconds>(std::chrono::milliseconds(1), window / std::max(1, buckets))),
      max_entries_(std::max<size_t>(1, max_entries)) {}

void DedupWindow::Expire(Clock::time_point now) {
  // A bucket is done when even its newest key (inserted before start + span) is older than the window.
  while (!buckets_.empty() && buckets_.front().start + span_ + window_ <= now) {
    size_ -= buckets_.front().count;
    buckets_.pop_front();
  }
}

bool DedupWindow::Contains(uint64_t key, Clock::time_point now) {
  Expire(now);
  key = Stored(key);
  return std::any_of(buckets_.begin(), buckets_.end(), [key](const Bucket& b) { return b.Contains(key); });
}

void DedupWindow::Insert(uint64_t key, Clock::time_point now) {
  Expire(now);
  key = Stored(key);
  if (buckets_.empty() || buckets_.back().start + span_ <= now) buckets_.push_back(Bucket{now, {}, 0});
  while (size_ + 1 > max_entries_ && !buckets_.empty()) {
    // Over the memory bound: forget the oldest keys early.
    evicted_ += buckets_.front().count;
    size_ -= buckets_.front().count;
    if (buckets_.size() == 1) {
      buckets_.front() = Bucket{now, {}, 0};
      break;
    }
    buckets_.pop_front();
  }
  if (buckets_.back().Insert(key)) ++size_;
}

void DedupWindow::Erase(uint64_t key) {
  key = Stored(key);
  for (auto it = buckets_.rbegin(); it != buckets_.rend(); ++it) {
    if (it->Erase(key)) {
      --size_;
      return;
    }
  }
}

size_t DedupWindow::memory_bytes() const {
  size_t bytes = 0;
  for (const auto& b : buckets_) bytes += b.slots.capacity() * sizeof(uint64_t);
  return bytes;
}

}  // namespace openwit::ingest
