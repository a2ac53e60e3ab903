#include "ingest/dedup_window.h"

#include <random>

#include <gtest/gtest.h>

namespace openwit::ingest {
namespace {

using namespace std::chrono_literals;

TEST(DedupWindowTest, RemembersWithinTheWindowAndForgetsAfter) {
  DedupWindow window(1600ms, 1000000);
  auto t0 = DedupWindow::Clock::time_point{} + 1h;
  window.Insert(42, t0);
  window.Insert(0, t0);  // key 0 is a key like any other
  EXPECT_TRUE(window.Contains(42, t0 + 1000ms));
  EXPECT_TRUE(window.Contains(0, t0 + 1599ms));
  EXPECT_FALSE(window.Contains(43, t0 + 1000ms));
  // Remembered for at least the window, at most one bucket (1/16 of it) longer.
  EXPECT_FALSE(window.Contains(42, t0 + 1700ms));
  EXPECT_EQ(window.size(), 0u);
}

TEST(DedupWindowTest, EraseForgetsAKey) {
  DedupWindow window(10s, 1000);
  auto t0 = DedupWindow::Clock::now();
  for (uint64_t k = 1; k <= 200; ++k) window.Insert(k * 7919, t0);
  window.Erase(7919 * 100);
  EXPECT_FALSE(window.Contains(7919 * 100, t0));
  for (uint64_t k = 1; k <= 200; ++k) {
    if (k != 100) {
      EXPECT_TRUE(window.Contains(k * 7919, t0)) << k;
    }
  }
  EXPECT_EQ(window.size(), 199u);
}

TEST(DedupWindowTest, MemoryStaysBoundedWhateverTheKeyRate) {
  constexpr size_t kMax = 50000;
  DedupWindow window(1h, kMax);
  std::mt19937_64 rng(1);
  auto t = DedupWindow::Clock::now();
  for (int i = 0; i < 1000000; ++i) {
    window.Insert(rng(), t);
    if (i % 1000 == 0) t += 1s;  // many buckets' worth of keys inside one window
  }
  EXPECT_LE(window.size(), kMax);
  EXPECT_GE(window.evicted(), 1000000u - kMax);
  // Open addressing at load <= 1/2: at most ~4 slots of 8 bytes per key, plus one growing bucket.
  EXPECT_LE(window.memory_bytes(), kMax * 8 * 4 + (1u << 20));
}

}  // namespace
}  // namespace openwit::ingest
