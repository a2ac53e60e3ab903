#include "ingest/wal/wal.h"

#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ingest/wal/crc32c.h"

namespace openwit::crc32c {
uint32_t ExtendPortableForTest(uint32_t crc, const void* data, size_t n);
}

namespace openwit::wal {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

TEST(Crc32cTest, Rfc3720Vectors) {
  std::string zeros(32, '\0'), ones(32, '\xff'), up(32, 0), down(32, 0);
  for (int i = 0; i < 32; ++i) up[i] = static_cast<char>(i), down[i] = static_cast<char>(31 - i);
  EXPECT_EQ(crc32c::Value(zeros.data(), 32), 0x8a9136aau);
  EXPECT_EQ(crc32c::Value(ones.data(), 32), 0x62a8ab43u);
  EXPECT_EQ(crc32c::Value(up.data(), 32), 0x46dd794eu);
  EXPECT_EQ(crc32c::Value(down.data(), 32), 0x113fdb5cu);
  EXPECT_EQ(crc32c::Value("123456789", 9), 0xe3069283u);
}

TEST(Crc32cTest, HardwareAndTableAgreeAndExtendComposes) {
  std::mt19937 rng(7);
  std::string data(1000, 0);
  for (auto& c : data) c = static_cast<char>(rng());
  for (size_t n : {0, 1, 7, 8, 9, 63, 1000}) {
    EXPECT_EQ(crc32c::Value(data.data(), n), crc32c::ExtendPortableForTest(0, data.data(), n)) << n;
  }
  EXPECT_EQ(crc32c::Extend(crc32c::Value(data.data(), 300), data.data() + 300, 700), crc32c::Value(data.data(), 1000));
  EXPECT_EQ(crc32c::Unmask(crc32c::Mask(0x12345678u)), 0x12345678u);
  EXPECT_NE(crc32c::Mask(0x12345678u), 0x12345678u);
}

class WalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("openwit-wal-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  WalOptions Options(uint64_t segment_size = 1 << 20) {
    WalOptions o;
    o.dir = dir_.string();
    o.segment_size_bytes = segment_size;
    return o;
  }
  std::unique_ptr<Wal> OpenWal(WalOptions o) {
    auto wal = Wal::Open(std::move(o));
    EXPECT_TRUE(wal.ok()) << wal.status();
    return std::move(*wal);
  }
  std::vector<fs::path> Segments() {
    std::vector<fs::path> out;
    for (const auto& f : fs::directory_iterator(dir_)) {
      if (f.path().filename().string().rfind("wal-", 0) == 0) out.push_back(f.path());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  static uint64_t AppendOk(Wal& wal, const std::string& payload) {
    auto r = wal.Append(payload).result();
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : 0;
  }
  fs::path dir_;
};

TEST_F(WalTest, EntriesSurviveReopenInOrderAndSequencesContinue) {
  {
    auto wal = OpenWal(Options());
    EXPECT_EQ(AppendOk(*wal, "one"), 1u);
    EXPECT_EQ(AppendOk(*wal, std::string(100000, 'x')), 2u);
    EXPECT_EQ(AppendOk(*wal, ""), 3u);
  }
  auto wal = OpenWal(Options());
  auto live = wal->TakeLiveEntries();
  ASSERT_EQ(live.size(), 3u);
  EXPECT_EQ(live[0].sequence, 1u);
  EXPECT_EQ(live[0].payload, "one");
  EXPECT_EQ(live[1].payload, std::string(100000, 'x'));
  EXPECT_EQ(live[2].payload, "");
  EXPECT_TRUE(wal->recovery().problems.empty());
  EXPECT_GT(AppendOk(*wal, "four"), 3u);  // past every number used (SEQUENCE-FLOOR: not dense)
}

TEST_F(WalTest, ReleasedEntriesAreNotReplayedAndSegmentsAreDeleted) {
  {
    auto wal = OpenWal(Options(/*segment_size=*/300));  // about two entries a segment
    std::vector<uint64_t> seqs;
    for (int i = 0; i < 10; ++i) seqs.push_back(AppendOk(*wal, std::string(100, static_cast<char>('a' + i))));
    EXPECT_GE(wal->segment_count(), 4u);
    for (int i = 0; i < 10; ++i) {
      if (i != 6) {
        ASSERT_TRUE(wal->Release(seqs[i]).result().ok());
      }
    }
    EXPECT_EQ(wal->live_entries(), 1u);
    // Segments before the one holding entry 7 are gone; that one and later ones stay.
    EXPECT_LE(wal->segment_count(), 4u);
  }
  auto wal = OpenWal(Options(300));
  auto live = wal->TakeLiveEntries();
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].sequence, 7u);
  EXPECT_EQ(live[0].payload, std::string(100, 'g'));
  ASSERT_TRUE(wal->Release(7).result().ok());
  ASSERT_TRUE(wal->Append("next").result().ok());  // lets the writer delete what is released
  EXPECT_EQ(wal->live_entries(), 1u);
  EXPECT_EQ(wal->segment_count(), 1u);
}

TEST_F(WalTest, SequencesNeverRestartEvenWhenEverySegmentIsDeleted) {
  std::string id;
  {
    auto wal = OpenWal(Options());
    id = wal->id();
    EXPECT_EQ(id.size(), 16u);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(wal->Release(AppendOk(*wal, "x")).result().ok());
  }
  uint64_t used = 5;
  for (int restart = 0; restart < 3; ++restart) {
    auto wal = OpenWal(Options());
    EXPECT_EQ(wal->id(), id);
    EXPECT_TRUE(wal->TakeLiveEntries().empty());
    EXPECT_GT(wal->next_sequence(), used) << "restart " << restart;
    used = wal->next_sequence();
    ASSERT_TRUE(wal->Release(999).result().ok());  // a write lets the WAL delete released segments
    EXPECT_EQ(wal->segment_count(), 1u);           // only the new, empty segment is left
  }
}

// Every segment lost (the newest's SEQUENCE marker with them), the WAL's id kept: numbering goes
// on past every number handed out, or a new batch would get the id of a stored one, which storage
// confirms without storing (#14).
TEST_F(WalTest, SequencesGoOnPastEveryNumberUsedWhenTheSegmentsAreLost) {
  uint64_t last = 0;
  {
    auto wal = OpenWal(Options(/*segment_size=*/300));
    for (int i = 0; i < 6; ++i) last = AppendOk(*wal, std::string(100, 'x'));
  }
  for (const auto& segment : Segments()) fs::remove(segment);
  auto wal = OpenWal(Options(300));
  EXPECT_TRUE(wal->TakeLiveEntries().empty());
  EXPECT_GT(wal->next_sequence(), last);
  EXPECT_GT(AppendOk(*wal, "after"), last);
  // An unreadable floor is an error, not a guess.
  wal.reset();
  std::ofstream(dir_ / "SEQUENCE-FLOOR", std::ios::trunc) << "seven";
  auto refused = Wal::Open(Options(300));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("sequence floor"), std::string::npos) << refused.status();
}

TEST_F(WalTest, ConcurrentAppendsShareFsyncs) {
  auto wal = OpenWal(Options(64 << 20));
  constexpr int kThreads = 8, kPerThread = 100;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (wal->Append("thread " + std::to_string(t) + " batch " + std::to_string(i)).result().ok()) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  // Group commit: while one fdatasync runs, the other senders' entries queue for the next one.
  EXPECT_LT(wal->sync_count(), static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_GT(wal->sync_count(), 0u);
  wal.reset();
  EXPECT_EQ(OpenWal(Options())->TakeLiveEntries().size(), static_cast<size_t>(kThreads * kPerThread));
}

// Groups larger than one writev can take (IOV_MAX parts) are written whole and in order.
TEST_F(WalTest, ThousandsOfEntriesQueuedAtOnceAreAllWritten) {
  constexpr int kEntries = 5000;
  {
    auto wal = OpenWal(Options());
    std::vector<arrow::Future<uint64_t>> written;
    for (int i = 0; i < kEntries; ++i) written.push_back(wal->Append(i % 7 == 0 ? "" : "entry " + std::to_string(i)));
    for (auto& f : written) ASSERT_TRUE(f.result().ok()) << f.result().status();
    EXPECT_LT(wal->sync_count(), static_cast<uint64_t>(kEntries) / 2);  // grouped, not one write each
  }
  auto live = OpenWal(Options())->TakeLiveEntries();
  ASSERT_EQ(live.size(), static_cast<size_t>(kEntries));
  for (int i = 0; i < kEntries; ++i) {
    EXPECT_EQ(live[i].payload, i % 7 == 0 ? "" : "entry " + std::to_string(i));
  }
}

TEST_F(WalTest, TornTailIsTruncatedAndEveryGoodEntryKept) {
  {
    auto wal = OpenWal(Options());
    for (int i = 0; i < 5; ++i) AppendOk(*wal, "entry " + std::to_string(i));
  }
  auto segment = Segments().back();
  const auto good_size = fs::file_size(segment);
  {
    // A crash in the middle of writing a sixth entry: its header and half its payload.
    std::ofstream out(segment, std::ios::binary | std::ios::app);
    std::string partial = "OWAL" + std::string(17, '\x01') + "half a pay";
    out << partial;
  }
  {
    auto wal = OpenWal(Options());
    EXPECT_EQ(wal->TakeLiveEntries().size(), 5u);
    EXPECT_EQ(wal->recovery().torn_bytes_truncated, 31u);
    ASSERT_EQ(wal->recovery().problems.size(), 1u);
    EXPECT_THAT(wal->recovery().problems[0], HasSubstr("torn tail of 31 bytes truncated"));
    EXPECT_EQ(fs::file_size(segment), good_size);
    EXPECT_GT(AppendOk(*wal, "after recovery"), 5u);
  }
  auto wal = OpenWal(Options());
  EXPECT_TRUE(wal->recovery().problems.empty());
  auto live = wal->TakeLiveEntries();
  ASSERT_EQ(live.size(), 6u);
  EXPECT_EQ(live.back().payload, "after recovery");
}

TEST_F(WalTest, FlippedByteLosesOnlyThatEntry) {
  {
    auto wal = OpenWal(Options());
    AppendOk(*wal, std::string(50, 'a'));
    AppendOk(*wal, std::string(50, 'b'));
    AppendOk(*wal, std::string(50, 'c'));
  }
  auto segment = Segments().front();
  {
    std::fstream f(segment, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(21 + 71 + 21 +
            10);  // inside the second entry's payload (a 21-byte SEQUENCE entry, then 21 + 50 bytes each)
    f.put('Z');
  }
  auto wal = OpenWal(Options());
  auto live = wal->TakeLiveEntries();
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0].payload, std::string(50, 'a'));
  EXPECT_EQ(live[1].payload, std::string(50, 'c'));
  EXPECT_EQ(wal->recovery().corrupt_bytes_skipped, 71u);
  ASSERT_EQ(wal->recovery().problems.size(), 1u);
  EXPECT_THAT(wal->recovery().problems[0], HasSubstr("offset 92: 71 corrupt bytes skipped"));
}

// An entry in FORMAT.md's layout with a valid CRC, whatever its fields say.
std::string EntryBytes(uint8_t type, uint64_t sequence, const std::string& payload) {
  std::string e(21, '\0');
  const uint32_t magic = 0x4c41574f, length = static_cast<uint32_t>(payload.size());
  std::memcpy(e.data(), &magic, 4);
  std::memcpy(e.data() + 8, &length, 4);
  e[12] = static_cast<char>(type);
  std::memcpy(e.data() + 13, &sequence, 8);
  const uint32_t crc = crc32c::Mask(crc32c::Extend(crc32c::Value(e.data() + 8, 13), payload.data(), payload.size()));
  std::memcpy(e.data() + 4, &crc, 4);
  return e + payload;
}

TEST_F(WalTest, SequenceNumbersOutOfRangeAreCorruptionAndNeverWrapTheNumbering) {
  // Found by tests/fuzz/wal_recovery: a SEQUENCE entry of 0 made next_sequence 2^64 - 1 + 1 = 0,
  // and a DATA entry of 2^64 - 1 did the same, so new batches reused the numbers of live ones.
  fs::create_directories(dir_);
  {
    std::ofstream out(dir_ / "wal-00000000000000000001.log", std::ios::binary);
    out << EntryBytes(3, 1, "") << EntryBytes(1, 1, "one") << EntryBytes(3, 0, "")
        << EntryBytes(1, ~uint64_t{0}, "wraps") << EntryBytes(1, 2, "two");
  }
  auto wal = OpenWal(Options());
  auto live = wal->TakeLiveEntries();
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0].payload, "one");
  EXPECT_EQ(live[1].payload, "two");
  EXPECT_EQ(wal->recovery().corrupt_bytes_skipped, 21u + 26u);
  EXPECT_EQ(wal->next_sequence(), 3u);
  EXPECT_EQ(AppendOk(*wal, "three"), 3u);
}

TEST_F(WalTest, FailedWriteIsNotAckedAndNothingAckedIsLost) {
  std::signal(SIGXFSZ, SIG_IGN);  // a write past RLIMIT_FSIZE then fails with EFBIG
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  auto wal = OpenWal(Options());
  AppendOk(*wal, "acked before the fault");
  rlimit tiny = saved;
  tiny.rlim_cur = 4096;  // the disk is "full" past 4 KiB a file
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &tiny), 0);
  auto failed = wal->Append(std::string(8192, 'f')).result();
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &saved), 0);
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(failed.status().IsIOError());
  EXPECT_THAT(failed.status().message(), HasSubstr("File too large"));
  // The WAL goes on in a fresh segment once the fault is gone.
  AppendOk(*wal, "acked after the fault");
  wal.reset();
  auto reopened = OpenWal(Options());
  auto live = reopened->TakeLiveEntries();
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0].payload, "acked before the fault");
  EXPECT_EQ(live[1].payload, "acked after the fault");
  EXPECT_TRUE(reopened->recovery().problems.empty());
}

// The long WAL: segments whose entries are all released move to the archive (nothing is written
// twice), stay readable for the dedup rebuild, and go by age.
TEST_F(WalTest, ReleasedSegmentsMoveToTheArchiveAndGoByAge) {
  auto options = Options(/*segment_size=*/300);  // about two entries a segment
  options.archive_dir = (dir_ / "long").string();
  std::vector<std::string> payloads;
  {
    auto wal = OpenWal(options);
    std::vector<uint64_t> seqs;
    for (int i = 0; i < 6; ++i) {
      payloads.push_back(std::string(100, static_cast<char>('a' + i)));
      seqs.push_back(AppendOk(*wal, payloads.back()));
    }
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(wal->Release(seqs[i]).result().ok());
    AppendOk(*wal, "live");  // lets the writer retire what is released
    EXPECT_GE(wal->ArchivedSegments().size(), 2u);
    std::vector<std::string> read;
    auto n = wal->ForEachRecentEntry(std::chrono::hours(1), [&](std::string_view p) { read.emplace_back(p); });
    ASSERT_TRUE(n.ok()) << n.status();
    payloads.push_back("live");
    EXPECT_EQ(read, payloads);  // archived and live entries, oldest first, each once
  }
  // A reopened WAL numbers its segments past the archived ones and keeps its sequences.
  const auto archived = [&] { return OpenWal(options)->ArchivedSegments(); }();
  auto wal = OpenWal(options);
  auto live = wal->TakeLiveEntries();
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0].payload, payloads[5]);
  EXPECT_GT(AppendOk(*wal, "after"), 7u);
  for (const auto& path : archived) EXPECT_TRUE(fs::exists(path)) << path << " was overwritten or lost";
  for (const auto& segment : Segments()) {
    EXPECT_FALSE(fs::exists(fs::path(options.archive_dir) / segment.filename())) << segment << " reuses a name";
  }
  ASSERT_TRUE(wal->DeleteArchivedOlderThan(std::chrono::hours(1)).ok());
  EXPECT_EQ(wal->ArchivedSegments(), archived);
  ASSERT_TRUE(wal->DeleteArchivedOlderThan(std::chrono::seconds(-1)).ok());
  EXPECT_TRUE(wal->ArchivedSegments().empty());
}

}  // namespace
}  // namespace openwit::wal
