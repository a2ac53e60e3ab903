#include "ingest/dedup_window.h"

#include <algorithm>
#include <utility>

namespace openwit::ingest {
namespace {

inline uint64_t Mix(uint64_t key) { return key * 0xff51afd7ed558ccdull; }

// The table stays at most this full (live and expired keys); a resize makes it kLoadAfterResize full.
constexpr double kMaxLoad = 0.7;
constexpr double kLoadAfterResize = 0.4;
// Slots the sweep walks per insert. A whole pass over the table takes capacity / kSweepSteps
// inserts, ~0.3 of a window's keys at kLoadAfterResize: expired keys never pile up past that.
constexpr size_t kSweepSteps = 8;
constexpr size_t kMinCapacity = 1024;

}  // namespace

DedupWindow::DedupWindow(std::chrono::milliseconds window, size_t max_entries, int generations)
    : window_(window),
      span_(std::max<std::chrono::milliseconds>(std::chrono::milliseconds(1), window / std::max(1, generations))),
      max_entries_(std::max<size_t>(1, max_entries)) {}

size_t DedupWindow::Home(uint64_t stored_key) const {
  // Multiply-shift onto [0, capacity): any capacity, no power of two needed.
  return static_cast<size_t>((static_cast<unsigned __int128>(Mix(stored_key)) * keys_.size()) >> 64);
}

size_t DedupWindow::Find(uint64_t stored_key) const {
  if (keys_.empty()) return kNotFound;
  for (size_t i = Home(stored_key); keys_[i] != 0; i = Next(i)) {
    if (keys_[i] == stored_key) return i;
  }
  return kNotFound;
}

// Backward-shift deletion: every key after the hole that may move back into it does, so no probe
// sequence is ever cut by an empty slot.
void DedupWindow::Remove(size_t hole) {
  for (size_t j = Next(hole); keys_[j] != 0; j = Next(j)) {
    const size_t home = Home(keys_[j]);
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    keys_[hole] = keys_[j];
    generations_of_[hole] = generations_of_[j];
    hole = j;
  }
  keys_[hole] = 0;
  --used_;
}

void DedupWindow::Sweep(size_t steps) {
  for (size_t n = 0; n < steps && used_ > 0; ++n) {
    if (keys_[cursor_] != 0 && !Live(generations_of_[cursor_])) {
      Remove(cursor_);  // a key may have moved into the cursor's slot: look at it again next step
    } else {
      cursor_ = Next(cursor_);
    }
  }
}

void DedupWindow::Resize(size_t capacity) {
  std::vector<uint64_t> old_keys(capacity, 0);
  std::vector<uint32_t> old_generations(capacity, 0);
  old_keys.swap(keys_);
  old_generations.swap(generations_of_);
  used_ = 0;
  cursor_ = 0;
  for (size_t s = 0; s < old_keys.size(); ++s) {
    if (old_keys[s] == 0 || !Live(old_generations[s])) continue;  // expired keys stay behind
    size_t i = Home(old_keys[s]);
    while (keys_[i] != 0) i = Next(i);
    keys_[i] = old_keys[s];
    generations_of_[i] = old_generations[s];
    ++used_;
  }
}

void DedupWindow::DropOldestGeneration() {
  size_ -= generations_.front().count;
  generations_.pop_front();
  oldest_live_ = generations_.empty() ? next_id_ : generations_.front().id;
}

void DedupWindow::Expire(Clock::time_point now) {
  // A generation is done when even its newest key (inserted before start + span) is older than the window.
  while (!generations_.empty() && generations_.front().start + span_ + window_ <= now) DropOldestGeneration();
}

bool DedupWindow::Contains(uint64_t key, Clock::time_point now) {
  Expire(now);
  const size_t slot = Find(Stored(key));
  return slot != kNotFound && Live(generations_of_[slot]);
}

bool DedupWindow::Insert(uint64_t key, Clock::time_point now) {
  Expire(now);
  key = Stored(key);
  if (generations_.empty() || generations_.back().start + span_ <= now) {
    generations_.push_back(Generation{next_id_++, now, 0});
  }
  while (size_ + 1 > max_entries_) {
    // Over the memory bound: forget the oldest keys early.
    evicted_ += generations_.front().count;
    DropOldestGeneration();
    if (generations_.empty()) generations_.push_back(Generation{next_id_++, now, 0});
    last_eviction_ = now;
    held_after_eviction_ = std::chrono::duration_cast<std::chrono::milliseconds>(now - generations_.front().start);
  }
  Generation& current = generations_.back();
  if (static_cast<double>(used_ + 1) > kMaxLoad * static_cast<double>(keys_.size())) {
    Resize(std::max(kMinCapacity, static_cast<size_t>(static_cast<double>(size_ + 1) / kLoadAfterResize)));
  }
  size_t i = Home(key);
  for (; keys_[i] != 0; i = Next(i)) {
    if (keys_[i] != key) continue;
    const uint32_t was = generations_of_[i];
    const bool live = Live(was);
    if (live) {
      if (was == current.id) return false;
      --GenerationOf(was).count;  // remembered from now on: the window starts again
    } else {
      ++size_;
    }
    generations_of_[i] = current.id;
    ++current.count;
    Sweep(kSweepSteps);
    return !live;
  }
  keys_[i] = key;
  generations_of_[i] = current.id;
  ++used_;
  ++size_;
  ++current.count;
  Sweep(kSweepSteps);
  return true;
}

void DedupWindow::Erase(uint64_t key) {
  const size_t slot = Find(Stored(key));
  if (slot == kNotFound) return;
  if (Live(generations_of_[slot])) {
    --GenerationOf(generations_of_[slot]).count;
    --size_;
  }
  Remove(slot);
}

size_t DedupWindow::memory_bytes() const {
  return keys_.capacity() * sizeof(uint64_t) + generations_of_.capacity() * sizeof(uint32_t);
}

BatchKeySet::BatchKeySet(size_t expected) {
  size_t capacity = 16;
  while (capacity < expected * 2) capacity *= 2;
  slots_.assign(capacity, 0);
}

bool BatchKeySet::Contains(uint64_t key) const {
  if (key == 0) return has_zero_;
  const size_t mask = slots_.size() - 1;
  for (size_t i = static_cast<size_t>(Mix(key) >> 20) & mask;; i = (i + 1) & mask) {
    if (slots_[i] == key) return true;
    if (slots_[i] == 0) return false;
  }
}

bool BatchKeySet::Insert(uint64_t key) {
  if (key == 0) return !std::exchange(has_zero_, true);
  if ((count_ + 1) * 2 > slots_.size()) {  // more keys than expected: stay at most half full
    std::vector<uint64_t> old(slots_.size() * 2, 0);
    old.swap(slots_);
    count_ = 0;
    for (uint64_t k : old) {
      if (k != 0) Insert(k);
    }
  }
  const size_t mask = slots_.size() - 1;
  for (size_t i = static_cast<size_t>(Mix(key) >> 20) & mask;; i = (i + 1) & mask) {
    if (slots_[i] == key) return false;
    if (slots_[i] == 0) {
      slots_[i] = key;
      ++count_;
      return true;
    }
  }
}

std::chrono::milliseconds DedupWindow::held(Clock::time_point now) const {
  if (last_eviction_ == Clock::time_point{} || now - last_eviction_ > window_) return window_;
  return held_after_eviction_;
}

}  // namespace openwit::ingest
