// WAL recovery (ingest/wal/wal.h, FORMAT.md) over arbitrary segment bytes in a temp directory: a
// crash, a bad disk or a stray write can leave anything in a segment, and the node must still
// start, keep every good entry and continue its sequence numbers. Per input: the segments are
// written, the log is opened (recovery), and then:
//  - Open succeeds (corruption is skipped and reported, never fatal);
//  - the live entries come in strictly increasing sequence order, all below next_sequence();
//  - an entry appended now gets a sequence number above every recovered one;
//  - after a clean close and a second open, the live entries are the recovered ones, minus the
//    first (released before the close), plus the one appended: what one run leaves, the next finds.
//
// Input: one byte choosing how the rest is read (its low bit), then
//  - 0: raw segment bytes, segments separated by "\nSEG\n" (at most 4 segments): exercises the
//    resynchronisation after corrupt bytes and the torn tail;
//  - 1: entries written with valid checksums (a fuzzer cannot forge a CRC32C), each as
//    [kind][sequence][payload length][payload], kind % 4 = 0 starting a new segment, 1 DATA,
//    2 RELEASE, 3 SEQUENCE; sequence one byte (0..239), or 0xF0..0xFF followed by 8 bytes
//    (little-endian); payload length one byte: exercises what recovery does with the entries.
// Files go to /dev/shm when it exists (a memory file system: fsync costs nothing there).

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/ranges.h>

#include "fuzz_support.h"
#include "ingest/wal/crc32c.h"
#include "ingest/wal/wal.h"

namespace openwit::fuzz {
namespace {

namespace fs = std::filesystem;
using wal::EntryType;
using wal::Wal;
using wal::WalEntry;
using wal::WalOptions;

constexpr size_t kMaxSegments = 4;
constexpr std::string_view kSegmentSeparator = "\nSEG\n";

fs::path Root() {
  static const fs::path root = [] {
    std::error_code ec;
    const fs::path base = fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
    return base / ("openwit-fuzz-wal-" + std::to_string(::getpid()));
  }();
  return root;
}

// An entry in FORMAT.md's layout, written from the format's description (not wal.cc's code).
void AppendEntry(uint8_t type, uint64_t sequence, std::string_view payload, std::string* out) {
  char header[21];
  const uint32_t magic = 0x4c41574f, length = static_cast<uint32_t>(payload.size());
  std::memcpy(header, &magic, 4);
  std::memcpy(header + 8, &length, 4);
  header[12] = static_cast<char>(type);
  std::memcpy(header + 13, &sequence, 8);
  const uint32_t crc = crc32c::Mask(crc32c::Extend(crc32c::Value(header + 8, 13), payload.data(), payload.size()));
  std::memcpy(header + 4, &crc, 4);
  out->append(header, sizeof(header));
  out->append(payload);
}

std::vector<std::string> RawSegments(std::string_view data) {
  std::vector<std::string> segments;
  while (segments.size() + 1 < kMaxSegments) {
    const size_t at = data.find(kSegmentSeparator);
    if (at == std::string_view::npos) break;
    segments.emplace_back(data.substr(0, at));
    data.remove_prefix(at + kSegmentSeparator.size());
  }
  segments.emplace_back(data);
  return segments;
}

std::vector<std::string> EntrySegments(std::string_view data) {
  std::vector<std::string> segments(1);
  size_t pos = 0;
  auto byte = [&]() -> uint8_t { return pos < data.size() ? static_cast<uint8_t>(data[pos++]) : 0; };
  while (pos < data.size()) {
    const uint8_t kind = byte() % 4;
    if (kind == 0) {
      if (segments.size() < kMaxSegments) segments.emplace_back();
      continue;
    }
    uint64_t sequence = byte();
    if (sequence >= 0xF0) {
      sequence = 0;
      for (int i = 0; i < 8; ++i) sequence |= uint64_t{byte()} << (8 * i);
    }
    const size_t length = std::min<size_t>(byte(), data.size() - pos);
    AppendEntry(kind, sequence, data.substr(pos, length), &segments.back());
    pos += length;
  }
  return segments;
}

void WriteFile(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  FUZZ_EXPECT(out.good(), "cannot write {}", path.string());
}

std::unique_ptr<Wal> OpenLog(const WalOptions& options) {
  auto wal = Wal::Open(options);
  FUZZ_EXPECT(wal.ok(), "WAL recovery fails instead of skipping what is corrupt: {}", wal.status().ToString());
  return std::move(*wal);
}

void Run(const std::vector<std::string>& segments) {
  const fs::path dir = Root() / "short";
  std::error_code ec;
  fs::remove_all(Root(), ec);
  fs::create_directories(dir);
  WriteFile(dir / "WAL-ID", "00112233aabbccdd");
  for (size_t i = 0; i < segments.size(); ++i) {
    WriteFile(dir / fmt::format("wal-{:020}.log", i + 1), segments[i]);
  }
  WalOptions options;
  options.dir = dir.string();
  options.archive_dir = (Root() / "long").string();

  std::vector<WalEntry> live;
  uint64_t appended = 0;
  {
    auto log = OpenLog(options);
    live = log->TakeLiveEntries();
    const uint64_t next = log->next_sequence();
    for (size_t i = 0; i < live.size(); ++i) {
      if (i > 0) {
        FUZZ_EXPECT(live[i - 1].sequence < live[i].sequence, "live entries out of order: {} then {}",
                    live[i - 1].sequence, live[i].sequence);
      }
      FUZZ_EXPECT(live[i].sequence < next, "live entry {} is not below next_sequence {}", live[i].sequence, next);
    }
    FUZZ_EXPECT(log->recovery().live_entries == live.size(), "the report counts {} live entries, {} were found",
                log->recovery().live_entries, live.size());
    auto entries = log->ForEachRecentEntry(std::chrono::hours(1), [](std::string_view) {});
    FUZZ_EXPECT(entries.ok(), "ForEachRecentEntry: {}", entries.status().ToString());
    if (!live.empty()) {
      auto released = log->Release(live.front().sequence).result();
      FUZZ_EXPECT(released.ok(), "Release: {}", released.status().ToString());
    }
    auto sequence = log->Append("appended after recovery").result();
    FUZZ_EXPECT(sequence.ok(), "Append: {}", sequence.status().ToString());
    appended = *sequence;
    if (!live.empty()) {
      FUZZ_EXPECT(appended > live.back().sequence, "appended entry got sequence {}, not above {}", appended,
                  live.back().sequence);
    }
  }
  auto log = OpenLog(options);
  std::vector<WalEntry> again = log->TakeLiveEntries();
  std::vector<uint64_t> want, got;
  for (size_t i = 1; i < live.size(); ++i) want.push_back(live[i].sequence);
  want.push_back(appended);
  for (const auto& e : again) got.push_back(e.sequence);
  FUZZ_EXPECT(got == want, "after a clean restart the live entries are [{}], expected [{}]", fmt::join(got, ", "),
              fmt::join(want, ", "));
  for (size_t i = 1; i < live.size(); ++i) {
    FUZZ_EXPECT(again[i - 1].payload == live[i].payload, "the payload of entry {} changed", live[i].sequence);
  }
  FUZZ_EXPECT(again.back().payload == "appended after recovery", "the appended payload changed");
}

}  // namespace
}  // namespace openwit::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  openwit::fuzz::InitializeTarget();
  (void)openwit::fuzz::Root();  // made before the handler below, so destroyed after it runs
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(openwit::fuzz::Root(), ec);
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace openwit::fuzz;
  if (size == 0) return -1;
  const std::string_view rest = AsText(data + 1, size - 1);
  Run(data[0] & 1 ? EntrySegments(rest) : RawSegments(rest));
  return 0;
}
