#include "ingest/wal/wal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/env.h"
#include "ingest/wal/crc32c.h"

namespace openwit::wal {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kMagic = 0x4c41574f;  // "OWAL" little-endian
constexpr size_t kHeaderSize = 21;
constexpr uint32_t kMaxPayload = 1u << 30;
// Sequence numbers are 1 .. kMaxSequence (FORMAT.md): never reached (146,000 years at a million
// batches a second), so next_sequence_ never wraps, whatever a segment holds.
constexpr uint64_t kMaxSequence = uint64_t{1} << 62;
// Sequence numbers are handed out below a floor kept durably in this file, raised this many at a
// time (one small durable write per million entries), so that no number is used twice even when
// every segment that held the last ones is lost.
constexpr const char* kSequenceFloorFile = "SEQUENCE-FLOOR";
constexpr uint64_t kReservedSequences = uint64_t{1} << 20;

uint32_t GetU32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// The header of an entry; its CRC covers the header's last 13 bytes and the payload.
void EncodeHeader(EntryType type, uint64_t sequence, std::string_view payload, char* header) {
  const uint32_t magic = kMagic, length = static_cast<uint32_t>(payload.size());
  std::memcpy(header, &magic, 4);
  std::memcpy(header + 8, &length, 4);
  header[12] = static_cast<char>(type);
  std::memcpy(header + 13, &sequence, 8);
  const uint32_t crc =
      crc32c::Mask(crc32c::Extend(crc32c::Value(header + 8, kHeaderSize - 8), payload.data(), payload.size()));
  std::memcpy(header + 4, &crc, 4);
}

void Encode(EntryType type, uint64_t sequence, std::string_view payload, std::string* out) {
  char header[kHeaderSize];
  EncodeHeader(type, sequence, payload, header);
  out->append(header, kHeaderSize);
  out->append(payload);
}

// Writes every byte the vector points at, however the kernel splits it; errno on failure.
bool WriteFully(int fd, std::vector<iovec>& parts) {
  size_t next = 0;
  while (next < parts.size()) {
    const int count = static_cast<int>(std::min<size_t>(parts.size() - next, IOV_MAX));
    ssize_t n = ::writev(fd, parts.data() + next, count);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = ENOSPC;
      return false;
    }
    for (auto left = static_cast<size_t>(n); left > 0;) {
      iovec& part = parts[next];
      const size_t taken = std::min(left, part.iov_len);
      part.iov_base = static_cast<char*>(part.iov_base) + taken;
      part.iov_len -= taken;
      left -= taken;
      if (part.iov_len == 0) ++next;
    }
    while (next < parts.size() && parts[next].iov_len == 0) ++next;
  }
  return true;
}

struct Decoded {
  EntryType type;
  uint64_t sequence;
  std::string_view payload;
  size_t size;
};

// The entry at `pos` if a whole, valid one starts there.
std::optional<Decoded> DecodeAt(std::string_view data, size_t pos) {
  if (data.size() - pos < kHeaderSize) return std::nullopt;
  const char* p = data.data() + pos;
  if (GetU32(p) != kMagic) return std::nullopt;
  uint32_t length = GetU32(p + 8);
  if (length > kMaxPayload || data.size() - pos - kHeaderSize < length) return std::nullopt;
  uint8_t type = static_cast<uint8_t>(p[12]);
  if (type < static_cast<uint8_t>(EntryType::kData) || type > static_cast<uint8_t>(EntryType::kSequence)) {
    return std::nullopt;
  }
  if (crc32c::Unmask(GetU32(p + 4)) != crc32c::Value(p + 8, kHeaderSize - 8 + length)) return std::nullopt;
  // A sequence number out of range is corruption that the CRC happens not to catch (or a bug that
  // wrote it): taken, a SEQUENCE entry of 0 or a DATA entry near 2^64 would wrap next_sequence_
  // and make new batches reuse the numbers of live ones (found by tests/fuzz/wal_recovery).
  const uint64_t sequence = GetU64(p + 13);
  if (sequence == 0 || sequence > kMaxSequence) return std::nullopt;
  return Decoded{static_cast<EntryType>(type), sequence, std::string_view(p + kHeaderSize, length),
                 kHeaderSize + length};
}

struct ScanResult {
  size_t good_end = 0;  // end of the last valid entry
  uint64_t skipped = 0;
};

// Walks one segment, calling `on_entry` for each valid entry; skips corrupt spots (reported in
// `report`). Bytes after the last valid entry are left to the caller (torn tail).
template <class F>
ScanResult ScanSegment(std::string_view data, const std::string& name, RecoveryReport* report, F&& on_entry) {
  ScanResult result;
  size_t pos = 0;
  while (pos < data.size()) {
    if (auto entry = DecodeAt(data, pos)) {
      on_entry(*entry);
      pos += entry->size;
      result.good_end = pos;
      continue;
    }
    // Resync: the next offset where a whole entry checks out.
    size_t next = pos + 1;
    while (next + kHeaderSize <= data.size() && !DecodeAt(data, next)) ++next;
    if (next + kHeaderSize > data.size()) break;  // nothing valid after: a tail, handled by the caller
    report->problems.push_back(
        fmt::format("{}: offset {}: {} corrupt bytes skipped (bad header or checksum)", name, pos, next - pos));
    report->corrupt_bytes_skipped += next - pos;
    result.skipped += next - pos;
    pos = next;
  }
  return result;
}

arrow::Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return arrow::Status::IOError("cannot open WAL directory ", dir, ": ", std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return arrow::Status::IOError("fsync of WAL directory ", dir, ": ", std::strerror(err));
  return arrow::Status::OK();
}

// The log's id: read from WAL-ID, or made (random, 16 hex digits) and made durable on first use.
arrow::Result<std::string> LoadOrCreateId(const std::string& dir) {
  const std::string path = dir + "/WAL-ID";
  if (std::ifstream in(path); in) {
    std::string id;
    in >> id;
    if (id.size() == 16) return id;
    return arrow::Status::IOError(path, ": unreadable WAL id \"", id, "\"");
  }
  std::random_device rd;
  std::string id = fmt::format("{:08x}{:08x}", rd(), rd());
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return arrow::Status::IOError("cannot create ", tmp, ": ", std::strerror(errno));
  bool ok = ::write(fd, id.data(), id.size()) == static_cast<ssize_t>(id.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return arrow::Status::IOError("cannot write ", path, ": ", std::strerror(errno));
  }
  ARROW_RETURN_NOT_OK(SyncDirectory(dir));
  return id;
}

// The number every sequence of the WAL in `dir` stays below until the file says more (0: none yet).
arrow::Result<uint64_t> ReadSequenceFloor(const std::string& dir) {
  const std::string path = dir + "/" + kSequenceFloorFile;
  std::ifstream in(path);
  if (!in) return 0;
  std::string text;
  in >> text;
  uint64_t floor = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), floor);
  if (error != std::errc() || end != text.data() + text.size() || floor > kMaxSequence) {
    return arrow::Status::IOError(path, ": unreadable sequence floor \"", text, "\"");
  }
  return floor;
}

// The segment files of a directory by number (none when it does not exist).
arrow::Result<std::map<uint64_t, std::string>> ListSegments(const std::string& dir) {
  static const std::regex kName(R"(wal-(\d{20})\.log)");
  std::map<uint64_t, std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    std::smatch m;
    std::string name = f.path().filename().string();
    if (std::regex_match(name, m, kName)) out[std::stoull(m[1])] = f.path().string();
  }
  if (ec) return arrow::Status::IOError("cannot list WAL directory ", dir, ": ", ec.message());
  return out;
}

arrow::Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return arrow::Status::IOError("cannot read WAL segment ", path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

Wal::Wal(WalOptions options) : options_(std::move(options)), metrics_(OwnRegistryIfNone(options_.metrics)) {}

arrow::Result<std::unique_ptr<Wal>> Wal::Open(WalOptions options) {
  std::unique_ptr<Wal> wal(new Wal(std::move(options)));
  ARROW_RETURN_NOT_OK(wal->Recover());
  ARROW_RETURN_NOT_OK(wal->OpenNewSegment());
  wal->writer_ = std::thread([w = wal.get()] { w->WriterLoop(); });
  wal->completer_ = std::thread([w = wal.get()] { w->CompletionLoop(); });
  return wal;
}

Wal::~Wal() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  {
    std::lock_guard lock(completion_mu_);
    writer_done_ = true;
  }
  completion_cv_.notify_all();
  if (completer_.joinable()) completer_.join();
  if (active_fd_ >= 0) {
    if (options_.sync_on_write) ::fdatasync(active_fd_);
    ::close(active_fd_);
  }
}

std::string Wal::SegmentPath(uint64_t number) const { return fmt::format("{}/wal-{:020}.log", options_.dir, number); }

arrow::Status Wal::Recover() {
  std::error_code ec;
  fs::create_directories(options_.dir, ec);
  if (ec) return arrow::Status::IOError("cannot create WAL directory ", options_.dir, ": ", ec.message());
  ARROW_ASSIGN_OR_RAISE(id_, LoadOrCreateId(options_.dir));
  ARROW_ASSIGN_OR_RAISE(auto found, ListSegments(options_.dir));
  for (auto& [number, path] : found) segments_[number] = Segment{std::move(path), 0};
  recovery_.segments = segments_.size();
  if (!options_.archive_dir.empty()) {
    fs::create_directories(options_.archive_dir, ec);
    if (ec) return arrow::Status::IOError("cannot create WAL archive ", options_.archive_dir, ": ", ec.message());
    // New segments are numbered past the archived ones too: an archived name is never reused.
    ARROW_ASSIGN_OR_RAISE(auto archived, ListSegments(options_.archive_dir));
    if (!archived.empty()) max_archived_segment_ = archived.rbegin()->first;
  }

  std::map<uint64_t, std::string> live;  // sequence -> payload (short WAL)
  uint64_t max_sequence = 0;
  for (auto it = segments_.begin(); it != segments_.end(); ++it) {
    const bool newest = std::next(it) == segments_.end();
    ARROW_ASSIGN_OR_RAISE(std::string data, ReadWholeFile(it->second.path));
    const std::string name = fs::path(it->second.path).filename().string();
    const uint64_t number = it->first;
    ScanResult scan = ScanSegment(data, name, &recovery_, [&](const Decoded& e) {
      if (e.type == EntryType::kSequence) {
        max_sequence = std::max(max_sequence, e.sequence - 1);
      } else if (e.type == EntryType::kData) {
        ++recovery_.data_entries;
        max_sequence = std::max(max_sequence, e.sequence);
        live[e.sequence] = std::string(e.payload);
        live_segment_[e.sequence] = number;
      } else if (e.type == EntryType::kRelease) {
        ++recovery_.release_entries;
        live.erase(e.sequence);
        live_segment_.erase(e.sequence);
      }
    });
    if (scan.good_end < data.size()) {
      const uint64_t cut = data.size() - scan.good_end;
      if (newest) {
        // A write cut short by a crash (never acked): drop it so the segment reads clean.
        recovery_.torn_bytes_truncated += cut;
        recovery_.problems.push_back(
            fmt::format("{}: offset {}: torn tail of {} bytes truncated", name, scan.good_end, cut));
        if (::truncate(it->second.path.c_str(), static_cast<off_t>(scan.good_end)) != 0) {
          return arrow::Status::IOError("cannot truncate torn WAL tail of ", it->second.path, ": ",
                                        std::strerror(errno));
        }
      } else {
        recovery_.corrupt_bytes_skipped += cut;
        recovery_.problems.push_back(
            fmt::format("{}: offset {}: {} corrupt bytes at the end skipped", name, scan.good_end, cut));
      }
    }
  }
  // Past every number handed out before, though the segments that held them were lost.
  ARROW_ASSIGN_OR_RAISE(const uint64_t floor, ReadSequenceFloor(options_.dir));
  next_sequence_ = std::max(max_sequence + 1, floor);
  ARROW_RETURN_NOT_OK(ReserveSequencesLocked());
  for (const auto& [sequence, number] : live_segment_) ++segments_[number].live;
  for (auto& [sequence, payload] : live) recovered_live_.push_back(WalEntry{sequence, std::move(payload)});
  recovery_.live_entries = recovered_live_.size();
  for (const auto& problem : recovery_.problems) spdlog::warn("{} WAL recovery: {}", options_.name, problem);
  if (!segments_.empty()) {
    spdlog::info("{} WAL recovered from {}: {} segments, {} entries, {} live, {} bytes skipped, {} bytes truncated",
                 options_.name, options_.dir, recovery_.segments, recovery_.data_entries, recovery_.live_entries,
                 recovery_.corrupt_bytes_skipped, recovery_.torn_bytes_truncated);
  }
  return arrow::Status::OK();
}

arrow::Status Wal::OpenNewSegment() {
  if (active_fd_ >= 0) {
    if (options_.sync_on_write && ::fdatasync(active_fd_) == 0) ++syncs_;
    ::close(active_fd_);
    active_fd_ = -1;
  }
  uint64_t number = std::max(max_archived_segment_, segments_.empty() ? 0 : segments_.rbegin()->first) + 1;
  std::string path = SegmentPath(number);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return arrow::Status::IOError("cannot create WAL segment ", path, ": ", std::strerror(errno));
  // The marker keeps sequence numbers increasing even when every older segment is deleted.
  std::string marker;
  {
    std::lock_guard lock(mu_);
    Encode(EntryType::kSequence, next_sequence_, {}, &marker);
  }
  if (::write(fd, marker.data(), marker.size()) != static_cast<ssize_t>(marker.size()) || ::fdatasync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return arrow::Status::IOError("cannot initialize WAL segment ", path, ": ", std::strerror(err));
  }
  ARROW_RETURN_NOT_OK(SyncDirectory(options_.dir));
  {
    std::lock_guard lock(mu_);
    segments_[number] = Segment{path, 0};
    active_segment_ = number;
  }
  active_fd_ = fd;
  active_size_ = marker.size();
  needs_new_segment_ = false;
  return arrow::Status::OK();
}

arrow::Status Wal::ReserveSequencesLocked() {
  const uint64_t floor = next_sequence_ + kReservedSequences;
  ARROW_RETURN_NOT_OK(
      ReplaceFileDurably(Env::Default(), options_.dir + "/" + kSequenceFloorFile, std::to_string(floor)));
  sequence_floor_ = floor;
  return arrow::Status::OK();
}

arrow::Future<uint64_t> Wal::Append(std::string payload) {
  auto done = arrow::Future<uint64_t>::Make();
  {
    std::lock_guard lock(mu_);
    if (stopping_) return arrow::Future<uint64_t>::MakeFinished(arrow::Status::Cancelled("WAL is closing"));
    if (next_sequence_ >= sequence_floor_) {
      // Once per kReservedSequences entries: a number is durably below the floor before it is used.
      if (auto s = ReserveSequencesLocked(); !s.ok()) return arrow::Future<uint64_t>::MakeFinished(s);
    }
    queue_.push_back(Pending{EntryType::kData, next_sequence_++, std::move(payload), done});
  }
  cv_.notify_one();
  return done;
}

arrow::Future<uint64_t> Wal::Release(uint64_t sequence) {
  auto done = arrow::Future<uint64_t>::Make();
  {
    std::lock_guard lock(mu_);
    if (stopping_) return arrow::Future<uint64_t>::MakeFinished(arrow::Status::Cancelled("WAL is closing"));
    queue_.push_back(Pending{EntryType::kRelease, sequence, {}, done});
  }
  cv_.notify_one();
  return done;
}

std::vector<WalEntry> Wal::TakeLiveEntries() { return std::move(recovered_live_); }

void Wal::WriterLoop() {
  auto& latency = metrics_->Histogram("wal.write.latency", "Seconds to write (and fsync) one group of WAL entries",
                                      MetricsRegistry::LatencyBuckets(), {{"wal", options_.name}});
  auto& errors =
      metrics_->Counter("wal.write.errors", "WAL writes that failed (nothing acked)", {{"wal", options_.name}});
  std::vector<Pending> group;
  while (true) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued is written
      group.swap(queue_);
    }
    bool has_data = false;
    auto start = std::chrono::steady_clock::now();
    arrow::Status status = WriteGroup(group, &has_data);
    latency.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (status.ok()) {
      ApplyGroup(group);
    } else {
      errors.Increment();
      spdlog::error("{} WAL: {} ({} entries not written, not acked)", options_.name, status.message(), group.size());
    }
    {
      std::lock_guard lock(completion_mu_);
      completions_.push_back(Written{std::move(group), std::move(status)});
    }
    completion_cv_.notify_one();
    group = {};
  }
}

void Wal::CompletionLoop() {
  std::unique_lock lock(completion_mu_);
  while (true) {
    completion_cv_.wait(lock, [this] { return writer_done_ || !completions_.empty(); });
    if (completions_.empty()) return;  // the writer is done and everything is completed
    Written written = std::move(completions_.front());
    completions_.pop_front();
    lock.unlock();
    for (auto& p : written.group) {
      if (written.status.ok()) {
        p.done.MarkFinished(p.sequence);
      } else {
        p.done.MarkFinished(written.status);
      }
    }
    lock.lock();
  }
}

arrow::Status Wal::WriteGroup(std::vector<Pending>& group, bool* has_data) {
  // One writev of headers and payloads: the payloads go to the kernel from where they are, not
  // through a copy into one group buffer.
  std::vector<char> headers(group.size() * kHeaderSize);
  std::vector<iovec> parts;
  parts.reserve(group.size() * 2);
  size_t bytes = 0;
  for (size_t i = 0; i < group.size(); ++i) {
    const auto& p = group[i];
    char* header = headers.data() + i * kHeaderSize;
    EncodeHeader(p.type, p.sequence, p.payload, header);
    parts.push_back({header, kHeaderSize});
    if (!p.payload.empty()) parts.push_back({const_cast<char*>(p.payload.data()), p.payload.size()});
    bytes += kHeaderSize + p.payload.size();
    *has_data |= p.type == EntryType::kData;
  }
  if (needs_new_segment_ || (active_size_ > 0 && active_size_ + bytes > options_.segment_size_bytes)) {
    ARROW_RETURN_NOT_OK(OpenNewSegment());
  }
  if (!WriteFully(active_fd_, parts)) {
    const int err = errno;
    // Leave no partial entry behind; the next group goes to a fresh segment either way.
    if (::ftruncate(active_fd_, static_cast<off_t>(active_size_)) != 0) {
      spdlog::warn("{} WAL: cannot truncate a failed write: {}", options_.name, std::strerror(errno));
    }
    needs_new_segment_ = true;
    return arrow::Status::IOError("write to ", SegmentPath(active_segment_), ": ", std::strerror(err));
  }
  active_size_ += bytes;
  if (options_.sync_on_write && *has_data) {
    if (::fdatasync(active_fd_) != 0) {
      // After a failed fsync the page cache can't be trusted: never append to this file again.
      needs_new_segment_ = true;
      return arrow::Status::IOError("fdatasync of ", SegmentPath(active_segment_), ": ", std::strerror(errno));
    }
    ++syncs_;
  }
  return arrow::Status::OK();
}

void Wal::ApplyGroup(std::vector<Pending>& group) {
  std::vector<std::string> doomed;
  {
    std::lock_guard lock(mu_);
    for (const auto& p : group) {
      if (p.type == EntryType::kData) {
        ++segments_[active_segment_].live;
        live_segment_[p.sequence] = active_segment_;
      } else if (auto it = live_segment_.find(p.sequence); it != live_segment_.end()) {
        --segments_[it->second].live;
        live_segment_.erase(it);
      }
    }
    // Retire only a prefix of fully released segments, so a RELEASE entry never leaves while the
    // DATA entry it releases is still live.
    while (!segments_.empty()) {
      auto oldest = segments_.begin();
      if (oldest->first == active_segment_ || oldest->second.live > 0) break;
      doomed.push_back(oldest->second.path);
      segments_.erase(oldest);
    }
  }
  for (const auto& path : doomed) {
    if (options_.archive_dir.empty()) {
      if (::unlink(path.c_str()) != 0)
        spdlog::warn("{} WAL: cannot delete {}: {}", options_.name, path, std::strerror(errno));
      continue;
    }
    // Not fsync'd: a rename lost in a crash leaves the segment here, and the next pass moves it.
    const std::string to = (fs::path(options_.archive_dir) / fs::path(path).filename()).string();
    if (::rename(path.c_str(), to.c_str()) != 0)
      spdlog::warn("{} WAL: cannot move {} to {}: {}", options_.name, path, to, std::strerror(errno));
  }
}

arrow::Result<uint64_t> Wal::ForEachRecentEntry(std::chrono::seconds age,
                                                const std::function<void(std::string_view)>& on_payload) const {
  const auto cutoff = fs::file_time_type::clock::now() - age;
  std::vector<std::string> recent;
  auto keep_if_recent = [&](const std::string& path) {
    std::error_code ec;
    auto mtime = fs::last_write_time(path, ec);
    if (!ec && mtime >= cutoff) recent.push_back(path);
  };
  for (const auto& path : ArchivedSegments()) keep_if_recent(path);
  {
    std::lock_guard lock(mu_);
    for (const auto& [number, segment] : segments_) keep_if_recent(segment.path);
  }
  uint64_t entries = 0;
  RecoveryReport ignored;  // Open() has reported what is wrong in these segments already
  for (const auto& path : recent) {
    auto data = ReadWholeFile(path);
    if (!data.ok()) {
      if (!fs::exists(path)) continue;  // deleted by retention meanwhile
      return data.status();
    }
    ScanSegment(*data, path, &ignored, [&](const Decoded& e) {
      if (e.type != EntryType::kData) return;
      ++entries;
      on_payload(e.payload);
    });
  }
  return entries;
}

std::vector<std::string> Wal::ArchivedSegments() const {
  std::vector<std::string> out;
  if (options_.archive_dir.empty()) return out;
  auto archived = ListSegments(options_.archive_dir);
  if (!archived.ok()) return out;
  for (auto& [number, path] : *archived) out.push_back(std::move(path));
  return out;
}

arrow::Status Wal::DeleteArchivedOlderThan(std::chrono::seconds age) {
  const auto cutoff = fs::file_time_type::clock::now() - age;
  for (const auto& path : ArchivedSegments()) {
    std::error_code ec;
    auto mtime = fs::last_write_time(path, ec);
    if (ec || mtime >= cutoff) break;  // archived in time order
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return arrow::Status::IOError("cannot delete archived WAL segment ", path, ": ", std::strerror(errno));
    }
  }
  return arrow::Status::OK();
}

uint64_t Wal::live_entries() const {
  std::lock_guard lock(mu_);
  return live_segment_.size();
}

uint64_t Wal::segment_count() const {
  std::lock_guard lock(mu_);
  return segments_.size();
}

uint64_t Wal::next_sequence() const {
  std::lock_guard lock(mu_);
  return next_sequence_;
}

}  // namespace openwit::wal
