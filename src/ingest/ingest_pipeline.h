#pragma once
// The ingest node's path, steps 4-6 of "The common ingestion path": dedup in a window, buffer
// ceilings, short and long WAL (archived short segments), the ack once the short WAL is durable, Arrow conversion, and
// the hand-off to storage with the WAL entry released only when storage has it durably. Recovery replays every
// unreleased short-WAL entry at open. The order of durable steps: wal/FORMAT.md.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <arrow/result.h>
#include <arrow/util/future.h>

#include "common/config.h"
#include "common/metrics.h"
#include "ingest/dedup_window.h"
#include "ingest/ingest_sink.h"
#include "ingest/storage_sink.h"
#include "ingest/wal/wal.h"
#include "openwit/ingest.pb.h"

namespace openwit::ingest {

struct PipelineOptions {
  std::string node_id = "openwit-1";
  ProcessingConfig processing;
  // Where the pipeline and its WAL report (the node's registry); null: a registry of its own.
  std::shared_ptr<MetricsRegistry> metrics = nullptr;
};

// The local implementation of the IngestSink seam (ingest_sink.h).
class IngestPipeline final : public IngestSink {
 public:
  using Clock = std::chrono::steady_clock;

  // Opens both WALs (recovering them) and queues every unreleased short-WAL entry for storage.
  static arrow::Result<std::unique_ptr<IngestPipeline>> Open(PipelineOptions options,
                                                             std::unique_ptr<StorageSink> sink);
  ~IngestPipeline() override;

  // `done` runs once: after the short WAL write covering the batch returned (fsync'd when
  // processing.wal.sync_on_write), or at once when the batch is refused. It may run on a WAL or
  // caller thread and must not block.
  void Submit(v1::BulkBatch batch, SubmitCallback done) override;
  // The same for a batch as it came off the wire (the bulk gRPC service): read here, and the
  // bytes go to the WAL as they are. Submit serializes its batch and comes here.
  void SubmitSerialized(std::string wire, SubmitCallback done);

  // Stops intake, keeps sending what is buffered for up to `drain`, then stops. Whatever storage
  // did not confirm stays in the short WAL for the next start.
  void Stop(std::chrono::milliseconds drain = std::chrono::seconds(5));

  struct Stats {
    int64_t buffered_records = 0;  // accepted, not yet durable in storage
    int64_t buffered_bytes = 0;
    int64_t replayed_batches = 0;  // found unreleased in the short WAL at open
    uint64_t wal_live_entries = 0;
    // The dedup window: keys it holds, how many it forgot early (dedup_max_entries), and how far
    // back it really remembers (dedup_window_seconds unless it had to evict).
    int64_t dedup_keys = 0;
    uint64_t dedup_evicted = 0;
    double dedup_held_seconds = 0;
  };
  Stats stats() const;

 private:
  struct Metrics;
  struct Submission;
  using SubmissionPtr = std::shared_ptr<Submission>;
  IngestPipeline(PipelineOptions options, std::unique_ptr<StorageSink> sink);
  arrow::Status Recover();
  // Sets a short WAL entry that does not replay aside (<wal.dir>/quarantine) and releases it.
  void Quarantine(const wal::WalEntry& entry, const arrow::Status& why);
  arrow::Status RememberRecentKeys(Clock::time_point now);

  // The submit path, step by step (SubmitSerialized runs them; the .cc says what each does).
  // A step that refuses the batch returns why; Refuse answers it.
  arrow::Status Read(Submission& s);
  arrow::Status AdmitLocked(Submission& s);
  void DedupLocked(Submission& s);
  arrow::Status ReserveLocked(Submission& s);
  void Write(SubmissionPtr s);
  arrow::Status ReserveConverted(Submission& s);
  void FailBeforeWrite(const SubmissionPtr& s, const arrow::Status& status);
  void Written(const SubmissionPtr& s, const arrow::Result<uint64_t>& written);
  void Ack(const SubmissionPtr& s, arrow::Result<uint64_t> written);
  void Refuse(Submission& s, arrow::Status status);
  // ... and on to storage, on the sender thread.
  void SenderLoop();
  std::vector<StoragePut> Send(std::vector<StoragePut> taken);
  void SendGroup(std::vector<StoragePut>& group);

  void Unreserve(int64_t records, int64_t bytes);
  // Takes the keys of a batch's new records (not flagged duplicate) out of the window. Under mu_.
  void ForgetKeys(const std::vector<uint64_t>& keys, const std::vector<bool>& duplicate);

  const PipelineOptions options_;
  std::unique_ptr<StorageSink> sink_;
  std::unique_ptr<wal::Wal> short_wal_;
  std::unique_ptr<Metrics> metrics_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  DedupWindow dedup_;
  uint64_t dedup_evicted_reported_ = 0;  // of dedup_.evicted(), in the dedup.evicted counter
  // The WAL writes in progress, with the keys of the records each carries: a batch repeating one
  // of those records is acked only once that write is done.
  struct InFlightWrite {
    BatchKeySet keys;
    arrow::Future<uint64_t> durable;
  };
  std::list<InFlightWrite> in_flight_;
  std::deque<StoragePut> queue_;  // durable in the WAL, waiting to be sent
  int64_t queued_records_ = 0;
  int64_t buffered_records_ = 0;
  int64_t buffered_bytes_ = 0;
  int64_t replayed_batches_ = 0;
  Clock::time_point paused_until_{};
  std::chrono::milliseconds wal_backoff_{0};
  bool stopping_ = false;
  Clock::time_point drain_deadline_{};
  std::thread sender_;
};

}  // namespace openwit::ingest
