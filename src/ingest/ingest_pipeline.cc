#include "ingest/ingest_pipeline.h"

#include <algorithm>
#include <optional>
#include <random>

#include <arrow/util/byte_size.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/allocation_cap.h"
#include "common/config_overrides.h"
#include "common/env.h"
#include "ingest/arrow_convert.h"
#include "otlp/otlp_records.h"

namespace openwit::ingest {
namespace {

using std::chrono::duration;
using std::chrono::milliseconds;

constexpr milliseconds kMaxWalBackoff{5000};
constexpr milliseconds kMaxSendBackoff{10000};
constexpr int64_t kBufferFullRetryMs = 500;

Signal ToConverterSignal(v1::Signal s) {
  switch (s) {
    case v1::SIGNAL_TRACES:
      return Signal::kTraces;
    case v1::SIGNAL_METRICS:
      return Signal::kMetrics;
    default:
      return Signal::kLogs;
  }
}

// One converter per thread and signal: its builders keep their capacity from batch to batch.
ArrowConverter& ConverterFor(v1::Signal signal) {
  thread_local std::unique_ptr<ArrowConverter> converters[3];
  const Signal s = ToConverterSignal(signal);
  auto& c = converters[static_cast<int>(s)];
  if (!c) c = std::make_unique<ArrowConverter>(s, CappedMemoryPool());
  return *c;
}

// The resources of a batch, read from its serialized bytes, as one RecordBatch of at most
// `max_bytes`: its Arrow form repeats each resource's and scope's attributes on every record, so a
// batch of tiny records under huge attributes is refused before it exhausts memory.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> Convert(const otlp::BulkHeader& batch, int64_t max_bytes) {
  ArrowConverter& converter = ConverterFor(batch.signal);
  // A log record with no time at all is placed when the gateway received it (a field of the batch,
  // not of the record, so that a retry of it has the same dedup key), else now.
  converter.SetUntimedRecordsAt(batch.received_unix_nano != 0
                                    ? batch.received_unix_nano
                                    : static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                                std::chrono::system_clock::now().time_since_epoch())
                                                                .count()));
  AllocationCap cap(max_bytes);
  auto too_large = [&] {
    return arrow::Status::Invalid("batch too large: its records would take more than ", max_bytes,
                                  " bytes of memory once converted, the whole ingest buffer "
                                  "(processing.buffer.max_size_bytes); send fewer records per request or smaller "
                                  "resource and scope attributes");
  };
  for (std::string_view resource : batch.resources) {
    if (auto status = converter.AppendSerialized(resource); !status.ok()) {
      (void)converter.Finish();  // drop the rows of earlier resources: the batch is refused whole
      return cap.exceeded() ? too_large() : status;
    }
  }
  auto finished = converter.Finish();
  if (!finished.ok() && cap.exceeded()) return too_large();
  return finished;
}

// What a converted batch holds in memory until storage has it: its Arrow buffers, or its bytes as
// received when they are more.
int64_t MemoryCost(const arrow::RecordBatch& batch, int64_t wire_bytes) {
  return std::max(wire_bytes, arrow::util::TotalBufferSize(batch));
}

arrow::Status Validate(const otlp::BulkHeader& batch) {
  if (batch.tenant.empty()) return arrow::Status::Invalid("tenant: required");
  // Storage would refuse it at every retry, holding up every batch behind it: refused here.
  if (!ValidTenantName(batch.tenant)) {
    return arrow::Status::Invalid("tenant: \"", batch.tenant,
                                  "\" is not a tenant name (1-128 letters, digits, '-', '_', '.')");
  }
  if (batch.batch_id.empty()) return arrow::Status::Invalid("batch_id: required");
  if (batch.signal != v1::SIGNAL_LOGS && batch.signal != v1::SIGNAL_TRACES && batch.signal != v1::SIGNAL_METRICS) {
    return arrow::Status::Invalid("signal: must be SIGNAL_LOGS, SIGNAL_TRACES or SIGNAL_METRICS");
  }
  // A batch carries one signal: only the resource list of that signal may be filled.
  const std::tuple<v1::Signal, const char*> lists[] = {{v1::SIGNAL_LOGS, "resource_logs"},
                                                       {v1::SIGNAL_TRACES, "resource_spans"},
                                                       {v1::SIGNAL_METRICS, "resource_metrics"}};
  for (const auto& [signal, name] : lists) {
    if (batch.list_sizes[signal - 1] > 0 && signal != batch.signal) {
      return arrow::Status::Invalid("signal is ", v1::Signal_Name(batch.signal), " but ", name, " is filled");
    }
  }
  return arrow::Status::OK();
}

}  // namespace

struct IngestPipeline::Metrics {
  explicit Metrics(MetricsRegistry& registry) : r(registry) {}
  MetricsRegistry& r;
  prometheus::Gauge& buffer_size = r.Gauge("buffer.size", "Records accepted and not yet durable in storage");
  prometheus::Gauge& buffer_bytes = r.Gauge("buffer.size_bytes", "Bytes accepted and not yet durable in storage");
  prometheus::Counter& buffer_full = r.Counter("buffer_full", "Batches refused because the buffer was full");
  prometheus::Histogram& ack_latency = r.Histogram("ack.latency", "Seconds from receiving a batch to its ack");
  prometheus::Histogram& convert_latency = r.Histogram("arrow.convert.latency", "Seconds to convert a batch to Arrow");
  prometheus::Counter& accepted = r.Counter("ingest.records.accepted", "Records written to the short WAL");
  prometheus::Counter& duplicates = r.Counter("dedup.duplicates", "Records dropped as already seen in the window");
  prometheus::Gauge& dedup_keys = r.Gauge("dedup.keys", "Keys remembered by the dedup window");
  prometheus::Counter& dedup_evicted = r.Counter(
      "dedup.evicted", "Keys the dedup window forgot before their time to stay under processing.dedup_max_entries");
  prometheus::Gauge& dedup_held =
      r.Gauge("dedup.held_seconds",
              "How far back the dedup window really remembers: dedup_window_seconds, less when it had to evict");
  prometheus::Gauge& wal_paused = r.Gauge("wal.paused", "1 while intake is paused after a WAL write failure");
  prometheus::Counter& stored = r.Counter("ingest.records.stored", "Records storage confirmed durable");
  prometheus::Counter& send_failures = r.Counter("arrow.send.failures", "Sends to storage that failed (retried)");
  prometheus::Gauge& replayed =
      r.Gauge("wal.replayed_batches", "Unreleased batches replayed from the short WAL at start");
  prometheus::Counter& quarantined =
      r.Counter("wal.quarantined", "Short WAL entries that did not replay, set aside under <wal.dir>/quarantine");
};

IngestPipeline::IngestPipeline(PipelineOptions options, std::unique_ptr<StorageSink> sink)
    : options_(std::move(options)),
      sink_(std::move(sink)),
      metrics_(std::make_unique<Metrics>(*options_.metrics)),
      dedup_(std::chrono::seconds(options_.processing.dedup_window_seconds),
             static_cast<size_t>(options_.processing.dedup_max_entries)) {}

arrow::Result<std::unique_ptr<IngestPipeline>> IngestPipeline::Open(PipelineOptions options,
                                                                    std::unique_ptr<StorageSink> sink) {
  options.metrics = OwnRegistryIfNone(std::move(options.metrics));
  std::unique_ptr<IngestPipeline> p(new IngestPipeline(std::move(options), std::move(sink)));
  const auto& wal = p->options_.processing.wal;
  wal::WalOptions short_options;
  short_options.dir = wal.dir + "/short";
  short_options.name = "short";
  short_options.sync_on_write = wal.sync_on_write;
  short_options.segment_size_bytes = static_cast<uint64_t>(wal.segment_size_mb) << 20;
  // The long WAL is the short WAL's segments once storage has all of their batches: the same
  // bytes, written and fsync'd once, holding exactly the batches that were acked or replayed.
  short_options.archive_dir = wal.dir + "/long";
  short_options.metrics = p->options_.metrics;
  ARROW_ASSIGN_OR_RAISE(p->short_wal_, wal::Wal::Open(short_options));
  ARROW_RETURN_NOT_OK(p->Recover());
  p->sender_ = std::thread([raw = p.get()] { raw->SenderLoop(); });
  return p;
}

IngestPipeline::~IngestPipeline() {
  Stop(std::chrono::milliseconds(0));
  // The WAL finishes its queued writes on closing, and those callbacks use this object's state:
  // close it while it is still whole.
  short_wal_.reset();
}

// The dedup window does not survive a restart by itself: records stored and released before a
// crash would be taken again when a client or a Kafka partition sends them again after it (their
// ack or commit was lost with the process). Their keys come back from the WAL segments, archived
// (long WAL) or not, written in the last dedup_window_seconds.
arrow::Status IngestPipeline::RememberRecentKeys(Clock::time_point now) {
  if (!options_.processing.dedup_enabled) return arrow::Status::OK();
  const auto start = Clock::now();
  int64_t keys_added = 0;
  ARROW_ASSIGN_OR_RAISE(auto entries,
                        short_wal_->ForEachRecentEntry(std::chrono::seconds(options_.processing.dedup_window_seconds),
                                                       [&](std::string_view payload) {
                                                         auto header = otlp::ReadBulkHeader(payload);
                                                         if (!header.ok()) return;
                                                         auto keys = otlp::RecordKeys(*header);
                                                         if (!keys.ok()) return;
                                                         for (uint64_t key : *keys) dedup_.Insert(key, now);
                                                         keys_added += static_cast<int64_t>(keys->size());
                                                       }));
  if (entries > 0) {
    spdlog::info("dedup window rebuilt from the WAL: {} keys from {} batches of the last {} s in {:.2f} s", keys_added,
                 entries, options_.processing.dedup_window_seconds,
                 std::chrono::duration<double>(Clock::now() - start).count());
  }
  return arrow::Status::OK();
}

void IngestPipeline::Quarantine(const wal::WalEntry& entry, const arrow::Status& why) {
  const std::string path =
      fmt::format("{}/quarantine/{}-{:020}.bulk", options_.processing.wal.dir, short_wal_->id(), entry.sequence);
  auto kept = [&]() -> arrow::Status {
    ARROW_RETURN_NOT_OK(Env::Default()->CreateDirs(ParentDir(path)));
    return ReplaceFileDurably(Env::Default(), path, entry.payload);
  }();
  if (!kept.ok()) {
    spdlog::error("short WAL entry {} does not replay ({}) and cannot be set aside ({}): left in the WAL",
                  entry.sequence, why.message(), kept.message());
    return;
  }
  metrics_->quarantined.Increment();
  spdlog::error("short WAL entry {} does not replay ({}): set aside in {} (a BulkBatch as written) and released",
                entry.sequence, why.message(), path);
  (void)short_wal_->Release(entry.sequence);  // done by the WAL's writer; if lost, the next start does it again
}

arrow::Status IngestPipeline::Recover() {
  auto entries = short_wal_->TakeLiveEntries();
  int64_t records = 0;
  const auto now = Clock::now();
  ARROW_RETURN_NOT_OK(RememberRecentKeys(now));
  for (auto& entry : entries) {
    auto batch = otlp::ReadBulkHeader(entry.payload);
    arrow::Status why = batch.status();
    std::shared_ptr<arrow::RecordBatch> record_batch;
    std::vector<uint64_t> keys;
    if (why.ok()) {
      auto converted = Convert(*batch, options_.processing.buffer.max_size_bytes);
      auto batch_keys = otlp::RecordKeys(*batch);
      why = !converted.ok() ? converted.status() : batch_keys.status();
      if (why.ok()) {
        record_batch = std::move(*converted);
        keys = std::move(*batch_keys);
      }
    }
    if (!why.ok()) {
      // Every entry was read and converted before it was written: one that no longer is (a bug, a
      // stricter reader after an upgrade) must neither keep the node from starting nor pin its
      // segment, and every later one, in the short WAL. It is set aside, whole, and released.
      Quarantine(entry, why);
      continue;
    }
    for (uint64_t key : keys) dedup_.Insert(key, now);  // a key RememberRecentKeys put in stays as it is
    StoragePut put;
    put.wal_sequence = entry.sequence;
    put.batch_id = fmt::format("{}:{}:{}", options_.node_id, short_wal_->id(), entry.sequence);
    put.tenant = batch->tenant;
    put.signal = batch->signal;
    put.records = record_batch->num_rows();
    put.bytes = MemoryCost(*record_batch, static_cast<int64_t>(entry.payload.size()));
    put.batch = std::move(record_batch);
    put.enqueued = now;
    buffered_records_ += put.records;
    buffered_bytes_ += put.bytes;
    queued_records_ += put.records;
    records += put.records;
    queue_.push_back(std::move(put));
  }
  replayed_batches_ = static_cast<int64_t>(queue_.size());
  metrics_->replayed.Set(static_cast<double>(replayed_batches_));
  metrics_->buffer_size.Set(static_cast<double>(buffered_records_));
  metrics_->buffer_bytes.Set(static_cast<double>(buffered_bytes_));
  if (!queue_.empty()) {
    spdlog::info("replaying {} unreleased batches ({} records) from the short WAL to storage", queue_.size(), records);
  }
  return arrow::Status::OK();
}

// One batch on its way through the submit path: what each step found, for the steps after it.
// Shared by the steps that outlive SubmitSerialized (the WAL's callback, the ack's wait), and never
// moved: `batch` holds views into `payload` until Write replaces it.
struct IngestPipeline::Submission {
  Submission(std::string wire, SubmitCallback callback) : payload(std::move(wire)), done(std::move(callback)) {}

  std::string payload;  // what goes to the WAL: the bytes as received, or without the repeated records
  SubmitCallback done;
  Clock::time_point start;     // when the batch was read: the ack latency, the dedup window's clock
  otlp::BulkHeader batch;      // the batch's own fields, read from the bytes as received
  int64_t retry_after_ms = 0;  // the hint that goes with a refusal
  // Dedup: per record in ForEachRecord order, its key and whether the window holds it already.
  std::vector<uint64_t> keys;
  std::vector<bool> duplicate;
  int64_t duplicates = 0;
  std::optional<BatchKeySet> new_keys;         // the keys this batch puts into the window
  std::vector<arrow::Future<uint64_t>> waits;  // writes in progress that carry records this batch repeats
  // Reserve: what the new records take of the buffer; the write in progress that carries them.
  int64_t new_records = 0;
  int64_t new_bytes = 0;
  std::list<InFlightWrite>::iterator in_flight;
  arrow::Future<uint64_t> durable = arrow::Future<uint64_t>::Make();  // done when that write is
  // Write
  otlp::BulkHeader filtered;  // of `payload` once the repeated records are dropped from it
  std::shared_ptr<arrow::RecordBatch> converted;
};

void IngestPipeline::Submit(v1::BulkBatch batch, SubmitCallback done) {
  SubmitSerialized(batch.SerializeAsString(), std::move(done));
}

// The submit path: Read, then Admit, Dedup and Reserve under one hold of the lock (they decide
// together whether the batch goes on, and with which records), Write to the short WAL, Written
// when it returns, Ack. Send (SenderLoop) takes it from there to storage.
void IngestPipeline::SubmitSerialized(std::string payload, SubmitCallback done) {
  auto s = std::make_shared<Submission>(std::move(payload), std::move(done));
  arrow::Status refused = Read(*s);
  if (refused.ok()) {
    std::lock_guard lock(mu_);
    refused = AdmitLocked(*s);
    if (refused.ok()) {
      DedupLocked(*s);
      refused = ReserveLocked(*s);
    }
  }
  if (!refused.ok()) return Refuse(*s, std::move(refused));
  metrics_->duplicates.Increment(static_cast<double>(s->duplicates));
  if (s->new_records == 0) return Ack(s, uint64_t{0});  // nothing new to write
  Write(std::move(s));
}

// Read: the batch's own fields, checked, and its records' dedup keys. Only the batch's own fields
// are parsed; its records are read from the bytes by the dedup keys and the converter (a protobuf
// parse of every record, and the destruction of the objects it made, was a fifth of the node's CPU).
arrow::Status IngestPipeline::Read(Submission& s) {
  ARROW_ASSIGN_OR_RAISE(s.batch, otlp::ReadBulkHeader(s.payload));
  s.start = Clock::now();
  ARROW_RETURN_NOT_OK(Validate(s.batch));
  // The dedup keys are hashed from the bytes that go to the WAL: a restart hashes the same bytes.
  ARROW_ASSIGN_OR_RAISE(s.keys, otlp::RecordKeys(s.batch));
  s.duplicate.assign(s.keys.size(), false);
  return arrow::Status::OK();
}

// Admit: nothing while stopping, nor while the short WAL is failing (intake paused).
arrow::Status IngestPipeline::AdmitLocked(Submission& s) {
  if (stopping_) {
    s.retry_after_ms = 1000;
    return arrow::Status::Cancelled("ingest node is stopping; retry on another node");
  }
  if (s.start < paused_until_) {
    s.retry_after_ms = std::chrono::duration_cast<milliseconds>(paused_until_ - s.start).count() + 1;
    return arrow::Status::CapacityError("intake paused: the short WAL failed to write; retry in ", s.retry_after_ms,
                                        " ms");
  }
  return arrow::Status::OK();
}

// Dedup: a new key goes into the window at once (one probe asks and remembers); should the batch
// not reach the WAL after all, its keys are taken out again (ForgetKeys). A repeat, of this batch
// or another, is flagged; its ack waits for the write in progress that carries it, if any, and
// otherwise the record is durable already.
void IngestPipeline::DedupLocked(Submission& s) {
  const bool enabled = options_.processing.dedup_enabled;
  s.new_keys.emplace(enabled ? s.keys.size() : 0);
  std::vector<const InFlightWrite*> waited;
  for (size_t i = 0; enabled && i < s.keys.size(); ++i) {
    constexpr size_t kPrefetchAhead = 8;
    if (i + kPrefetchAhead < s.keys.size()) dedup_.Prefetch(s.keys[i + kPrefetchAhead]);
    if (dedup_.Insert(s.keys[i], s.start)) {
      s.new_keys->Insert(s.keys[i]);
      continue;
    }
    s.duplicate[i] = true;
    ++s.duplicates;
    for (const InFlightWrite& w : in_flight_) {
      if (!w.keys.Contains(s.keys[i])) continue;
      if (std::find(waited.begin(), waited.end(), &w) == waited.end()) {
        waited.push_back(&w);
        s.waits.push_back(w.durable);
      }
      break;
    }
  }
  s.new_records = static_cast<int64_t>(s.keys.size()) - s.duplicates;
}

// Reserve: room in the buffer (processing.buffer) for the new records until storage has them, or
// the batch is refused whole: as invalid when it could never fit, else until the buffer drains. A
// reserved batch's write is in progress from here on.
arrow::Status IngestPipeline::ReserveLocked(Submission& s) {
  if (s.new_records == 0) return arrow::Status::OK();
  s.new_bytes = static_cast<int64_t>(s.payload.size() * s.new_records / s.keys.size());
  const auto& buffer = options_.processing.buffer;
  if (s.new_records > buffer.max_size_messages || s.new_bytes > buffer.max_size_bytes) {
    ForgetKeys(s.keys, s.duplicate);
    return arrow::Status::Invalid("batch too large: ", s.new_records, " records of ", s.new_bytes,
                                  " bytes can never fit the ingest buffer of ", buffer.max_size_messages,
                                  " records and ", buffer.max_size_bytes,
                                  " bytes (processing.buffer); send smaller batches");
  }
  if (buffered_records_ + s.new_records > buffer.max_size_messages ||
      buffered_bytes_ + s.new_bytes > buffer.max_size_bytes) {
    metrics_->buffer_full.Increment();
    ForgetKeys(s.keys, s.duplicate);
    s.retry_after_ms = kBufferFullRetryMs;
    return arrow::Status::CapacityError("buffer full: ", buffered_records_, " of ", buffer.max_size_messages,
                                        " records and ", buffered_bytes_, " of ", buffer.max_size_bytes,
                                        " bytes wait for storage (processing.buffer); retry later");
  }
  buffered_records_ += s.new_records;
  buffered_bytes_ += s.new_bytes;
  metrics_->buffer_size.Set(static_cast<double>(buffered_records_));
  metrics_->buffer_bytes.Set(static_cast<double>(buffered_bytes_));
  s.in_flight = in_flight_.insert(in_flight_.end(), InFlightWrite{std::move(*s.new_keys), s.durable});
  return arrow::Status::OK();
}

// Write: only the new records go to the WAL and on to storage, converted first: a batch that
// cannot convert must never reach the WAL, where a replay would meet it again at every start.
void IngestPipeline::Write(SubmissionPtr s) {
  const otlp::BulkHeader* to_write = &s->batch;
  if (s->duplicates > 0) {
    // Parsed, filtered and serialized again (rare: retries and replays).
    v1::BulkBatch filtered;
    if (!filtered.ParseFromString(s->payload)) {
      // A record that is not valid OTLP: the converter names it.
      const auto invalid = Convert(s->batch, options_.processing.buffer.max_size_bytes).status();
      return FailBeforeWrite(
          s, invalid.ok() ? arrow::Status::Invalid("not a valid openwit.ingest.v1.BulkBatch") : invalid);
    }
    otlp::RemoveRecords(&filtered, s->duplicate);
    s->payload = filtered.SerializeAsString();
    s->batch.resources.clear();  // its views into the old bytes end here
    auto reread = otlp::ReadBulkHeader(s->payload);
    if (!reread.ok()) return FailBeforeWrite(s, reread.status());
    s->filtered = std::move(*reread);
    to_write = &s->filtered;
  }
  const auto convert_start = Clock::now();
  auto converted = Convert(*to_write, options_.processing.buffer.max_size_bytes);
  metrics_->convert_latency.Observe(duration<double>(Clock::now() - convert_start).count());
  if (!converted.ok()) return FailBeforeWrite(s, converted.status());
  s->converted = std::move(*converted);
  if (auto refused = ReserveConverted(*s); !refused.ok()) return FailBeforeWrite(s, refused);

  auto write = short_wal_->Append(std::move(s->payload));
  write.AddCallback([this, s = std::move(s)](const arrow::Result<uint64_t>& written) { Written(s, written); });
}

// Reserve, again: the buffer counted the batch's bytes as received; it holds its Arrow form until
// storage has it, which may take more.
arrow::Status IngestPipeline::ReserveConverted(Submission& s) {
  const int64_t cost = MemoryCost(*s.converted, s.new_bytes);
  if (cost <= s.new_bytes) return arrow::Status::OK();
  const auto& buffer = options_.processing.buffer;
  std::lock_guard lock(mu_);
  if (buffered_bytes_ + cost - s.new_bytes > buffer.max_size_bytes) {
    metrics_->buffer_full.Increment();
    return arrow::Status::CapacityError("buffer full: ", buffered_bytes_, " of ", buffer.max_size_bytes,
                                        " bytes wait for storage and this batch takes ", cost,
                                        " bytes in memory (processing.buffer); retry later");
  }
  buffered_bytes_ += cost - s.new_bytes;
  s.new_bytes = cost;
  metrics_->buffer_bytes.Set(static_cast<double>(buffered_bytes_));
  return arrow::Status::OK();
}

// A batch refused before its write: its keys leave the window and its room in the buffer is free.
void IngestPipeline::FailBeforeWrite(const SubmissionPtr& s, const arrow::Status& status) {
  {
    std::lock_guard lock(mu_);
    ForgetKeys(s->keys, s->duplicate);
    in_flight_.erase(s->in_flight);
  }
  Unreserve(s->new_records, s->new_bytes);
  s->durable.MarkFinished(status);
  Ack(s, status);
}

// Written: the short WAL returned. Written, the batch waits for storage and its keys stay in the
// window (durable now); not written, its keys go, and intake pauses with a growing backoff:
// callers see RESOURCE_EXHAUSTED until the WAL writes again.
void IngestPipeline::Written(const SubmissionPtr& s, const arrow::Result<uint64_t>& written) {
  const auto now = Clock::now();
  {
    std::lock_guard lock(mu_);
    in_flight_.erase(s->in_flight);
    if (!written.ok()) ForgetKeys(s->keys, s->duplicate);
    metrics_->dedup_keys.Set(static_cast<double>(dedup_.size()));
    if (const uint64_t evicted = dedup_.evicted(); evicted > dedup_evicted_reported_) {
      metrics_->dedup_evicted.Increment(static_cast<double>(evicted - dedup_evicted_reported_));
      dedup_evicted_reported_ = evicted;
    }
    metrics_->dedup_held.Set(std::chrono::duration<double>(dedup_.held(now)).count());
    if (written.ok()) {
      wal_backoff_ = milliseconds(0);
      metrics_->wal_paused.Set(0);
      StoragePut put;
      put.wal_sequence = *written;
      put.batch_id = fmt::format("{}:{}:{}", options_.node_id, short_wal_->id(), *written);
      put.tenant = s->batch.tenant;
      put.signal = s->batch.signal;
      put.batch = std::move(s->converted);
      put.records = s->new_records;
      put.bytes = s->new_bytes;
      put.enqueued = now;
      queued_records_ += s->new_records;
      queue_.push_back(std::move(put));
    } else {
      wal_backoff_ = std::min(kMaxWalBackoff, std::max(milliseconds(100), wal_backoff_ * 2));
      paused_until_ = now + wal_backoff_;
      metrics_->wal_paused.Set(1);
      spdlog::error("short WAL write failed: {}; intake paused for {} ms", written.status().message(),
                    wal_backoff_.count());
    }
  }
  if (written.ok()) {
    metrics_->accepted.Increment(static_cast<double>(s->new_records));
    cv_.notify_all();
  } else {
    Unreserve(s->new_records, s->new_bytes);
  }
  s->durable.MarkFinished(written);
  Ack(s, written);
}

// Ack: once the batch's own write returned, and the writes carrying the records it repeats too.
// A failure is a CapacityError with a retry hint (the batch can come again), unless the batch is
// invalid.
void IngestPipeline::Ack(const SubmissionPtr& s, arrow::Result<uint64_t> written) {
  auto respond = [this, s, written = std::move(written)](const arrow::Status& repeated) {
    SubmitOutcome outcome;
    outcome.status = written.ok() ? repeated : written.status();
    if (!outcome.status.ok()) {
      outcome.retry_after_ms = 100;
      if (!outcome.status.IsCapacityError() && !outcome.status.IsInvalid()) {
        outcome.status = arrow::Status::CapacityError("not written: ", outcome.status.message(), "; retry");
      }
    }
    outcome.ack.set_batch_id(s->batch.batch_id);
    outcome.ack.set_accepted_records(static_cast<uint64_t>(s->new_records));
    outcome.ack.set_duplicate_records(static_cast<uint64_t>(s->duplicates));
    outcome.ack.set_wal_sequence(written.ok() ? *written : 0);
    *outcome.ack.mutable_positions() = s->batch.positions;
    metrics_->ack_latency.Observe(duration<double>(Clock::now() - s->start).count());
    s->done(std::move(outcome));
  };
  if (s->waits.empty()) return respond(arrow::Status::OK());
  std::vector<arrow::Future<>> all(s->waits.begin(), s->waits.end());
  arrow::AllComplete(all).AddCallback(std::move(respond));
}

// A batch refused before any of its records went into the window or the buffer (or after they
// left both again): answered at once, with the retry hint the refusing step gave.
void IngestPipeline::Refuse(Submission& s, arrow::Status status) {
  SubmitOutcome outcome;
  outcome.status = std::move(status);
  outcome.retry_after_ms = s.retry_after_ms;
  outcome.ack.set_batch_id(s.batch.batch_id);
  s.done(std::move(outcome));
}

void IngestPipeline::ForgetKeys(const std::vector<uint64_t>& keys, const std::vector<bool>& duplicate) {
  if (!options_.processing.dedup_enabled) return;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!duplicate[i]) dedup_.Erase(keys[i]);
  }
}

void IngestPipeline::Unreserve(int64_t records, int64_t bytes) {
  std::lock_guard lock(mu_);
  buffered_records_ -= records;
  buffered_bytes_ -= bytes;
  metrics_->buffer_size.Set(static_cast<double>(buffered_records_));
  metrics_->buffer_bytes.Set(static_cast<double>(buffered_bytes_));
}

void IngestPipeline::SenderLoop() {
  const auto flush_interval = std::chrono::seconds(options_.processing.buffer.flush_interval_seconds);
  const int64_t flush_size = options_.processing.flush_size_messages;
  const auto retention = std::chrono::hours(options_.processing.wal.long_term_retention_hours);
  auto next_retention = Clock::now();
  std::mt19937 rng(std::random_device{}());
  milliseconds backoff{0};
  std::unique_lock lock(mu_);
  while (true) {
    // Flush by size, by age of the oldest waiting batch, or to drain when stopping.
    auto ready = [&] {
      if (queue_.empty()) return false;
      if (stopping_ || queued_records_ >= flush_size) return true;
      return Clock::now() >= queue_.front().enqueued + flush_interval;
    };
    while (!ready() && !(stopping_ && queue_.empty())) {
      auto wake = queue_.empty() ? Clock::now() + std::chrono::seconds(60) : queue_.front().enqueued + flush_interval;
      cv_.wait_until(lock, std::min(wake, next_retention));
      if (Clock::now() >= next_retention) {
        lock.unlock();
        if (auto s = short_wal_->DeleteArchivedOlderThan(retention); !s.ok())
          spdlog::warn("long WAL retention: {}", s.message());
        next_retention = Clock::now() + std::chrono::minutes(1);
        lock.lock();
      }
    }
    if (queue_.empty() || (stopping_ && Clock::now() >= drain_deadline_)) break;
    std::vector<StoragePut> taken(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
    queue_.clear();
    queued_records_ = 0;
    lock.unlock();
    std::vector<StoragePut> unsent = Send(std::move(taken));
    lock.lock();
    if (!unsent.empty()) {
      for (auto it = unsent.rbegin(); it != unsent.rend(); ++it) {
        queued_records_ += it->records;
        queue_.push_front(std::move(*it));
      }
      // Exponential backoff with jitter; the batches stay in the short WAL meanwhile.
      backoff = std::min(kMaxSendBackoff, std::max(milliseconds(100), backoff * 2));
      auto jittered = milliseconds(std::uniform_int_distribution<int64_t>(backoff.count() / 2, backoff.count())(rng));
      cv_.wait_for(lock, jittered, [&] { return stopping_ && Clock::now() >= drain_deadline_; });
    } else {
      backoff = milliseconds(0);
    }
  }
}

// Send: one send per tenant and signal, in WAL order within each. Returns what storage did not
// confirm.
std::vector<StoragePut> IngestPipeline::Send(std::vector<StoragePut> taken) {
  std::stable_sort(taken.begin(), taken.end(), [](const StoragePut& a, const StoragePut& b) {
    return std::tie(a.tenant, a.signal) < std::tie(b.tenant, b.signal);
  });
  std::vector<StoragePut> unsent;
  for (size_t begin = 0; begin < taken.size();) {
    size_t end = begin;
    while (end < taken.size() && taken[end].tenant == taken[begin].tenant && taken[end].signal == taken[begin].signal) {
      ++end;
    }
    std::vector<StoragePut> group(std::make_move_iterator(taken.begin() + begin),
                                  std::make_move_iterator(taken.begin() + end));
    SendGroup(group);  // leaves in `group` what storage did not confirm
    for (auto& put : group) unsent.push_back(std::move(put));
    begin = end;
  }
  return unsent;
}

void IngestPipeline::SendGroup(std::vector<StoragePut>& group) {
  std::vector<const StoragePut*> puts;
  for (const auto& p : group) puts.push_back(&p);
  std::vector<bool> confirmed(group.size(), false);
  auto status = sink_->Put(puts, [&](size_t i) {
    if (i >= group.size() || confirmed[i]) return;
    confirmed[i] = true;
    // Storage has it durably: the short WAL entry can go (FORMAT.md step 5).
    (void)short_wal_->Release(group[i].wal_sequence);  // not waited for: a lost RELEASE means a replay
    Unreserve(group[i].records, group[i].bytes);
    metrics_->stored.Increment(static_cast<double>(group[i].records));
  });
  size_t kept = 0;
  for (size_t i = 0; i < group.size(); ++i) {
    if (confirmed[i]) continue;
    if (kept != i) group[kept] = std::move(group[i]);
    ++kept;
  }
  group.resize(kept);
  if (!status.ok() || kept > 0) {
    metrics_->send_failures.Increment();
    spdlog::warn("storage did not confirm {} batches ({}); they stay in the short WAL and are retried", kept,
                 status.ok() ? "no confirmation" : status.message());
  }
}

void IngestPipeline::Stop(std::chrono::milliseconds drain) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      drain_deadline_ = Clock::now() + drain;
    }
  }
  cv_.notify_all();
  if (sender_.joinable()) sender_.join();
}

IngestPipeline::Stats IngestPipeline::stats() const {
  std::lock_guard lock(mu_);
  Stats s;
  s.buffered_records = buffered_records_;
  s.buffered_bytes = buffered_bytes_;
  s.replayed_batches = replayed_batches_;
  s.wal_live_entries = short_wal_ ? short_wal_->live_entries() : 0;
  s.dedup_keys = static_cast<int64_t>(dedup_.size());
  s.dedup_evicted = dedup_.evicted();
  s.dedup_held_seconds = std::chrono::duration<double>(dedup_.held(Clock::now())).count();
  return s;
}

}  // namespace openwit::ingest
