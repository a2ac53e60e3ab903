// Dedup window benchmark: the cost of a lookup and an insert once the window is full (the steady
// state of an ingest node: processing.dedup_window_seconds of keys at a constant rate), against
// std::unordered_set holding the same keys (no expiry at all) measured in the same run.
//
// usage: openwit_dedup_bench [--keys N] [--lookups M]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "ingest/dedup_window.h"

using openwit::ingest::DedupWindow;
using Clock = std::chrono::steady_clock;

namespace {

template <class F>
double NanosPer(size_t n, F&& f) {
  const auto start = Clock::now();
  f();
  return std::chrono::duration<double, std::nano>(Clock::now() - start).count() / static_cast<double>(n);
}

}  // namespace

int main(int argc, char** argv) {
  size_t keys = 4000000, lookups = 2000000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--keys")) keys = std::strtoull(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--lookups")) lookups = std::strtoull(argv[i + 1], nullptr, 10);
  }
  // The default node: a 300 s window, 4M keys at most; keys arrive evenly over the window.
  const auto window = std::chrono::seconds(300);
  DedupWindow dedup(window, keys);
  std::unordered_set<uint64_t> peer;
  peer.reserve(keys);
  std::mt19937_64 rng(1);
  std::vector<uint64_t> inserted(keys);
  for (auto& k : inserted) k = rng();
  const auto t0 = DedupWindow::Clock::now();
  const auto step = std::chrono::duration_cast<std::chrono::nanoseconds>(window) / static_cast<int64_t>(keys);
  const double fill = NanosPer(keys, [&] {
    for (size_t i = 0; i < keys; ++i) dedup.Insert(inserted[i], t0 + step * static_cast<int64_t>(i));
  });
  const double peer_fill = NanosPer(keys, [&] {
    for (uint64_t k : inserted) peer.insert(k);
  });
  const auto now = t0 + step * static_cast<int64_t>(keys);
  std::vector<uint64_t> fresh(lookups);
  for (auto& k : fresh) k = rng();
  size_t found = 0;
  const double miss = NanosPer(lookups, [&] {
    for (uint64_t k : fresh) found += dedup.Contains(k, now);
  });
  const double peer_miss = NanosPer(lookups, [&] {
    for (uint64_t k : fresh) found += peer.count(k);
  });
  const size_t recent = keys * 9 / 10;  // inside the window
  const double hit = NanosPer(lookups, [&] {
    for (size_t i = 0; i < lookups; ++i) found += dedup.Contains(inserted[recent + i % (keys - recent)], now);
  });
  const double peer_hit = NanosPer(lookups, [&] {
    for (size_t i = 0; i < lookups; ++i) found += peer.count(inserted[recent + i % (keys - recent)]);
  });
  std::printf(
      "keys=%zu window=300s: insert %.0f ns (unordered_set %.0f), lookup miss %.0f ns (%.0f), hit %.0f ns (%.0f); "
      "memory %.0f MiB, %.1f bytes/key (found %zu)\n",
      keys, fill, peer_fill, miss, peer_miss, hit, peer_hit, static_cast<double>(dedup.memory_bytes()) / (1 << 20),
      static_cast<double>(dedup.memory_bytes()) / static_cast<double>(dedup.size()), found);
  return 0;
}
