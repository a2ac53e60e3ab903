#pragma once
// An append-only, checksummed, group-committed write-ahead log: the ingest node's short WAL (acks
// wait for it). Its segments, once every entry in them is released, move to an archive directory:
// the long WAL, kept for replay and indexing (the same bytes, written once). The format and the
// order of durable steps are in FORMAT.md beside this file.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <arrow/result.h>
#include <arrow/util/future.h>

#include "common/metrics.h"

namespace openwit::wal {

enum class EntryType : uint8_t {
  kData = 1,
  kRelease = 2,
  kSequence = 3,  // first entry of every segment: the next sequence number at its creation
};

struct WalOptions {
  std::string dir;
  std::string name = "short";  // in logs and metrics
  bool sync_on_write = true;   // fdatasync before a DATA append completes
  uint64_t segment_size_bytes = 64ull << 20;
  // Where a closed segment goes once all its DATA entries are released (the long WAL); empty:
  // such a segment is deleted.
  std::string archive_dir;
  // Where wal.write.latency and wal.write.errors go (labelled wal=<name>); null: a registry of its own.
  std::shared_ptr<MetricsRegistry> metrics = nullptr;
};

struct WalEntry {
  uint64_t sequence = 0;
  std::string payload;
};

// What Open() found: entries kept, bytes skipped or cut, each problem in words.
struct RecoveryReport {
  uint64_t segments = 0;
  uint64_t data_entries = 0;
  uint64_t release_entries = 0;
  uint64_t live_entries = 0;
  uint64_t corrupt_bytes_skipped = 0;
  uint64_t torn_bytes_truncated = 0;
  std::vector<std::string> problems;
};

class Wal {
 public:
  // Opens the log in options.dir (created if missing), recovering it: a torn tail of the newest
  // segment is truncated, corrupt spots are skipped, both reported; live entries are kept for
  // TakeLiveEntries().
  static arrow::Result<std::unique_ptr<Wal>> Open(WalOptions options);
  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Appends a DATA entry. The future completes with its sequence number once the entry is written
  // and, with sync_on_write, fdatasync'd: the moment an ack may be given. Concurrent appends share
  // one write and one fdatasync (group commit). On an I/O error the future fails and the entry
  // is not acknowledged.
  arrow::Future<uint64_t> Append(std::string payload);

  // Marks a DATA entry done (storage has it durably). Not fsync'd: a lost RELEASE only causes a
  // replay that dedup absorbs. Segments left with no live entry are deleted.
  arrow::Future<uint64_t> Release(uint64_t sequence);

  // The live entries found by Open(), in sequence order (moved out: call once).
  std::vector<WalEntry> TakeLiveEntries();
  const RecoveryReport& recovery() const { return recovery_; }

  // Calls `on_payload` with every DATA entry, released or not, of the archived and live segments
  // last written within `age`, oldest first (at start: rebuilding the dedup window). Returns how
  // many entries it read.
  arrow::Result<uint64_t> ForEachRecentEntry(std::chrono::seconds age,
                                             const std::function<void(std::string_view payload)>& on_payload) const;

  // Deletes archived segments last written before `now - age` (long WAL retention).
  arrow::Status DeleteArchivedOlderThan(std::chrono::seconds age);
  // Archived segment files, oldest first.
  std::vector<std::string> ArchivedSegments() const;

  uint64_t live_entries() const;
  uint64_t segment_count() const;
  uint64_t sync_count() const { return syncs_.load(); }
  uint64_t next_sequence() const;
  const WalOptions& options() const { return options_; }
  // Random id of this log, made when its directory was first used (file WAL-ID): with the sequence
  // number it names a batch uniquely even if the directory is wiped and sequences start again.
  const std::string& id() const { return id_; }

 private:
  struct Pending {
    EntryType type;
    uint64_t sequence;
    std::string payload;
    arrow::Future<uint64_t> done;
  };
  struct Segment {
    std::string path;
    uint64_t live = 0;  // DATA entries without RELEASE
  };

  explicit Wal(WalOptions options);
  arrow::Status Recover();
  // Raises SEQUENCE-FLOOR to next_sequence_ + kReservedSequences (mu_ held, or recovery).
  arrow::Status ReserveSequencesLocked();
  arrow::Status OpenNewSegment();
  void WriterLoop();
  void CompletionLoop();
  arrow::Status WriteGroup(std::vector<Pending>& group, bool* has_data);
  void ApplyGroup(std::vector<Pending>& group);
  std::string SegmentPath(uint64_t number) const;

  const WalOptions options_;
  const std::shared_ptr<MetricsRegistry> metrics_;
  std::string id_;
  RecoveryReport recovery_;
  std::vector<WalEntry> recovered_live_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Pending> queue_;
  bool stopping_ = false;
  uint64_t next_sequence_ = 1;
  uint64_t sequence_floor_ = 0;  // SEQUENCE-FLOOR: every sequence handed out is below it

  // Writer-thread state (also read under mu_ by the accessors).
  std::map<uint64_t, Segment> segments_;       // segment number -> state
  std::map<uint64_t, uint64_t> live_segment_;  // live DATA sequence -> segment number
  uint64_t active_segment_ = 0;
  uint64_t max_archived_segment_ = 0;  // highest number found in archive_dir at open
  int active_fd_ = -1;
  uint64_t active_size_ = 0;
  std::atomic<uint64_t> syncs_{0};
  bool needs_new_segment_ = false;  // after an I/O error, never append to that file again
  std::thread writer_;

  // Written groups whose futures are completed by the completion thread: their callbacks (the
  // ingest node's ack, dedup bookkeeping) run there, while the writer already writes the next.
  struct Written {
    std::vector<Pending> group;
    arrow::Status status;
  };
  std::mutex completion_mu_;
  std::condition_variable completion_cv_;
  std::deque<Written> completions_;
  bool writer_done_ = false;
  std::thread completer_;
};

}  // namespace openwit::wal
