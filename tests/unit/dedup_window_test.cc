#include "ingest/dedup_window.h"

#include <deque>
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

// Evictions shorten what the window really remembers, and held() says by how much until a whole
// window has passed without one (what /health and dedup.held_seconds report).
TEST(DedupWindowTest, HeldSaysHowFarBackTheWindowRemembersAfterEvictions) {
  DedupWindow window(320s, 4);  // generations of 20 s
  auto t0 = DedupWindow::Clock::time_point{} + 1h;
  EXPECT_EQ(window.held(t0), 320s);
  for (uint64_t k = 1; k <= 2; ++k) window.Insert(k, t0);
  for (uint64_t k = 3; k <= 4; ++k) window.Insert(k, t0 + 20s);
  EXPECT_EQ(window.held(t0 + 20s), 320s);
  window.Insert(5, t0 + 40s);  // a fifth key: t0's generation goes early
  EXPECT_EQ(window.evicted(), 2u);
  EXPECT_FALSE(window.Contains(1, t0 + 40s));
  EXPECT_TRUE(window.Contains(3, t0 + 40s));
  EXPECT_EQ(window.held(t0 + 40s), 20s);  // back to t0 + 20 s only
  EXPECT_EQ(window.held(t0 + 40s + 321s), 320s);
}

// A window that stays full for many windows: every key inserted is found until it expires, none
// after, and expired keys are swept so the table does not grow with the number of windows seen.
TEST(DedupWindowTest, SteadyStateFindsExactlyTheKeysOfTheWindow) {
  DedupWindow window(1600ms, 1000000);  // generations of 100 ms
  std::mt19937_64 rng(7);
  std::deque<std::pair<DedupWindow::Clock::time_point, uint64_t>> inserted;
  auto t = DedupWindow::Clock::time_point{} + 1h;
  size_t memory_after_first_windows = 0;     // after the first window
  for (int step = 0; step < 1000; ++step) {  // 10 ms a step, 500 keys a step: ~6 windows
    for (int k = 0; k < 500; ++k) {
      const uint64_t key = rng();
      ASSERT_FALSE(window.Contains(key, t));
      window.Insert(key, t);
      inserted.emplace_back(t, key);
    }
    while (!inserted.empty() && inserted.front().first + 1700ms <= t) {
      EXPECT_FALSE(window.Contains(inserted.front().second, t)) << "remembered past window + one generation";
      inserted.pop_front();
    }
    for (size_t i = 0; i < inserted.size(); i += 97) {
      if (inserted[i].first + 1600ms > t) {
        EXPECT_TRUE(window.Contains(inserted[i].second, t)) << "forgotten inside the window";
      }
    }
    if (step == 250) memory_after_first_windows = window.memory_bytes();  // the window has filled
    t += 10ms;
  }
  EXPECT_LE(window.size(), 1700u / 10 * 500);
  EXPECT_LE(window.memory_bytes(), memory_after_first_windows * 2);
  EXPECT_EQ(window.evicted(), 0u);
}

TEST(DedupWindowTest, AKeyInsertedAgainIsRememberedFromThen) {
  DedupWindow window(1600ms, 1000);
  auto t0 = DedupWindow::Clock::time_point{} + 1h;
  window.Insert(5, t0);
  window.Insert(5, t0 + 1000ms);
  EXPECT_TRUE(window.Contains(5, t0 + 2000ms));
  EXPECT_EQ(window.size(), 1u);
  EXPECT_FALSE(window.Contains(5, t0 + 2800ms));
}

TEST(DedupWindowTest, InsertSaysWhetherTheKeyWasNew) {
  DedupWindow window(1600ms, 1000);
  auto t0 = DedupWindow::Clock::time_point{} + 1h;
  EXPECT_TRUE(window.Insert(42, t0));
  EXPECT_FALSE(window.Insert(42, t0 + 10ms));    // same generation
  EXPECT_FALSE(window.Insert(42, t0 + 1000ms));  // a later generation: remembered anew, still a repeat
  EXPECT_TRUE(window.Insert(42, t0 + 3000ms));   // expired: new again
  window.Erase(42);
  EXPECT_TRUE(window.Insert(42, t0 + 3000ms));
  EXPECT_EQ(window.size(), 1u);
}

TEST(DedupWindowTest, BatchKeySetFindsRepeatsWithinABatch) {
  BatchKeySet set(3);
  EXPECT_TRUE(set.Insert(0));
  EXPECT_TRUE(set.Insert(42));
  EXPECT_FALSE(set.Insert(0));
  EXPECT_FALSE(set.Insert(42));
  for (uint64_t k = 1; k <= 100; ++k) EXPECT_EQ(set.Insert(k * 1000003), k * 1000003 != 42);
  EXPECT_TRUE(set.Contains(0));
  EXPECT_TRUE(set.Contains(42));
  EXPECT_TRUE(set.Contains(100 * 1000003));
  EXPECT_FALSE(set.Contains(7));
  EXPECT_FALSE(BatchKeySet(0).Contains(0));
}

}  // namespace
}  // namespace openwit::ingest
