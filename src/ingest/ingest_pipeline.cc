#include "ingest/ingest_pipeline.h"

#include <algorithm>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/config_overrides.h"
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
  if (!c) c = std::make_unique<ArrowConverter>(s);
  return *c;
}

// The resources of a batch, read from its serialized bytes, as one RecordBatch.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> Convert(const otlp::BulkHeader& batch) {
  ArrowConverter& converter = ConverterFor(batch.signal);
  for (std::string_view resource : batch.resources) {
    if (auto status = converter.AppendSerialized(resource); !status.ok()) {
      (void)converter.Finish();  // drop the rows of earlier resources: the batch is refused whole
      return status;
    }
  }
  return converter.Finish();
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
  prometheus::Gauge& wal_paused = r.Gauge("wal.paused", "1 while intake is paused after a WAL write failure");
  prometheus::Counter& stored = r.Counter("ingest.records.stored", "Records storage confirmed durable");
  prometheus::Counter& send_failures = r.Counter("arrow.send.failures", "Sends to storage that failed (retried)");
  prometheus::Gauge& replayed =
      r.Gauge("wal.replayed_batches", "Unreleased batches replayed from the short WAL at start");
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

arrow::Status IngestPipeline::Recover() {
  auto entries = short_wal_->TakeLiveEntries();
  int64_t records = 0;
  const auto now = Clock::now();
  ARROW_RETURN_NOT_OK(RememberRecentKeys(now));
  for (auto& entry : entries) {
    auto batch = otlp::ReadBulkHeader(entry.payload);
    if (!batch.ok()) {
      // A checksummed entry we wrote ourselves: only a bug gets here. Keep it in the WAL.
      spdlog::error("short WAL entry {} does not read as a bulk batch ({}); left in the WAL", entry.sequence,
                    batch.status().message());
      continue;
    }
    auto converted = Convert(*batch);
    auto keys = otlp::RecordKeys(*batch);
    if (!converted.ok() || !keys.ok()) {
      // Every entry was converted before it was written; one that no longer converts (a stricter
      // reader after an upgrade) must not keep the node from starting. Kept for a later version.
      spdlog::error("short WAL entry {} of tenant {} no longer converts ({}); left in the WAL", entry.sequence,
                    batch->tenant, (converted.ok() ? keys.status() : converted.status()).message());
      continue;
    }
    const std::shared_ptr<arrow::RecordBatch>& record_batch = *converted;
    for (uint64_t key : *keys) dedup_.Insert(key, now);  // a key RememberRecentKeys put in stays as it is
    StoragePut put;
    put.wal_sequence = entry.sequence;
    put.batch_id = fmt::format("{}:{}:{}", options_.node_id, short_wal_->id(), entry.sequence);
    put.tenant = batch->tenant;
    put.signal = batch->signal;
    put.records = record_batch->num_rows();
    put.bytes = static_cast<int64_t>(entry.payload.size());
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

void IngestPipeline::Submit(v1::BulkBatch batch, SubmitCallback done) {
  SubmitSerialized(batch.SerializeAsString(), std::move(done));
}

void IngestPipeline::SubmitSerialized(std::string payload, SubmitCallback done) {
  // Only the batch's own fields are read here; its records are read from the bytes by the dedup
  // keys and the converter (a protobuf parse of every record, and the destruction of the objects
  // it made, was a fifth of the node's CPU).
  auto header = otlp::ReadBulkHeader(payload);
  if (!header.ok()) {
    SubmitOutcome outcome;
    outcome.status = header.status();
    done(std::move(outcome));
    return;
  }
  const otlp::BulkHeader& batch = *header;
  const auto start = Clock::now();
  auto refuse = [&](arrow::Status status, int64_t retry_after_ms = 0) {
    SubmitOutcome outcome;
    outcome.status = std::move(status);
    outcome.retry_after_ms = retry_after_ms;
    outcome.ack.set_batch_id(batch.batch_id);
    done(std::move(outcome));
  };
  if (auto status = Validate(batch); !status.ok()) return refuse(status);

  // The dedup keys are hashed from the bytes that go to the WAL: a restart hashes the same bytes.
  auto computed_keys = otlp::RecordKeys(batch);
  if (!computed_keys.ok()) return refuse(computed_keys.status());
  std::vector<uint64_t> keys = std::move(*computed_keys);
  std::vector<bool> duplicate(keys.size(), false);
  std::vector<arrow::Future<uint64_t>> waits;  // writes in progress of records this batch repeats
  auto durable = arrow::Future<uint64_t>::Make();
  int64_t duplicates = 0, new_records = 0, new_bytes = 0;
  std::list<InFlightWrite>::iterator in_flight;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return refuse(arrow::Status::Cancelled("ingest node is stopping; retry on another node"), 1000);
    if (start < paused_until_) {
      auto wait = std::chrono::duration_cast<milliseconds>(paused_until_ - start).count() + 1;
      return refuse(
          arrow::Status::CapacityError("intake paused: the short WAL failed to write; retry in ", wait, " ms"), wait);
    }
    // A new key goes into the window at once (one probe asks and remembers); should the batch not
    // reach the WAL after all, its keys are taken out again.
    BatchKeySet written(options_.processing.dedup_enabled ? keys.size() : 0);
    std::vector<const InFlightWrite*> waited;
    for (size_t i = 0; options_.processing.dedup_enabled && i < keys.size(); ++i) {
      constexpr size_t kPrefetchAhead = 8;
      if (i + kPrefetchAhead < keys.size()) dedup_.Prefetch(keys[i + kPrefetchAhead]);
      if (dedup_.Insert(keys[i], start)) {
        written.Insert(keys[i]);
        continue;
      }
      // A repeat (of this batch or another): its ack waits for the write in progress that carries
      // it, if any; otherwise the record is durable already.
      duplicate[i] = true;
      ++duplicates;
      for (const InFlightWrite& w : in_flight_) {
        if (!w.keys.Contains(keys[i])) continue;
        if (std::find(waited.begin(), waited.end(), &w) == waited.end()) {
          waited.push_back(&w);
          waits.push_back(w.durable);
        }
        break;
      }
    }
    new_records = static_cast<int64_t>(keys.size()) - duplicates;
    if (new_records > 0) {
      new_bytes = static_cast<int64_t>(payload.size() * new_records / keys.size());
      const auto& buffer = options_.processing.buffer;
      if (buffered_records_ + new_records > buffer.max_size_messages ||
          buffered_bytes_ + new_bytes > buffer.max_size_bytes) {
        metrics_->buffer_full.Increment();
        ForgetKeys(keys, duplicate);
        return refuse(arrow::Status::CapacityError("buffer full: ", buffered_records_, " of ", buffer.max_size_messages,
                                                   " records and ", buffered_bytes_, " of ", buffer.max_size_bytes,
                                                   " bytes wait for storage (processing.buffer); retry later"),
                      kBufferFullRetryMs);
      }
      buffered_records_ += new_records;
      buffered_bytes_ += new_bytes;
      metrics_->buffer_size.Set(static_cast<double>(buffered_records_));
      metrics_->buffer_bytes.Set(static_cast<double>(buffered_bytes_));
      in_flight = in_flight_.insert(in_flight_.end(), InFlightWrite{std::move(written), durable});
    }
  }
  metrics_->duplicates.Increment(static_cast<double>(duplicates));

  auto make_ack = [batch_id = batch.batch_id, positions = batch.positions, new_records, duplicates](uint64_t sequence) {
    v1::BulkAck ack;
    ack.set_batch_id(batch_id);
    ack.set_accepted_records(static_cast<uint64_t>(new_records));
    ack.set_duplicate_records(static_cast<uint64_t>(duplicates));
    ack.set_wal_sequence(sequence);
    *ack.mutable_positions() = positions;
    return ack;
  };
  // The ack of records this batch repeats waits for the writes that carry them.
  auto finish = [this, done, start, make_ack, waits](arrow::Result<uint64_t> written) mutable {
    auto respond = [this, done, start, make_ack, written](const arrow::Status& repeated) {
      SubmitOutcome outcome;
      outcome.status = written.ok() ? repeated : written.status();
      if (!outcome.status.ok()) {
        outcome.retry_after_ms = 100;
        if (!outcome.status.IsCapacityError() && !outcome.status.IsInvalid()) {
          outcome.status = arrow::Status::CapacityError("not written: ", outcome.status.message(), "; retry");
        }
      }
      outcome.ack = make_ack(written.ok() ? *written : 0);
      metrics_->ack_latency.Observe(duration<double>(Clock::now() - start).count());
      done(std::move(outcome));
    };
    if (waits.empty()) return respond(arrow::Status::OK());
    std::vector<arrow::Future<>> all(waits.begin(), waits.end());
    arrow::AllComplete(all).AddCallback(std::move(respond));
  };

  if (new_records == 0) return finish(uint64_t{0});

  auto fail_before_write = [&](const arrow::Status& status) {
    {
      std::lock_guard lock(mu_);
      ForgetKeys(keys, duplicate);
      in_flight_.erase(in_flight);
    }
    Unreserve(new_records, new_bytes);
    durable.MarkFinished(status);
    finish(status);
  };
  // Only new records go to the WAL and on to storage: a batch with repeats is parsed, filtered and
  // serialized again (rare: retries and replays). `batch`'s views into the old bytes end here.
  const otlp::BulkHeader* to_write = &batch;
  otlp::BulkHeader filtered_header;
  if (duplicates > 0) {
    v1::BulkBatch filtered;
    if (!filtered.ParseFromString(payload)) {
      // A record that is not valid OTLP: the converter names it.
      const auto invalid = Convert(batch).status();
      return fail_before_write(invalid.ok() ? arrow::Status::Invalid("not a valid openwit.ingest.v1.BulkBatch")
                                            : invalid);
    }
    otlp::RemoveRecords(&filtered, duplicate);
    payload = filtered.SerializeAsString();
    auto reread = otlp::ReadBulkHeader(payload);
    if (!reread.ok()) return fail_before_write(reread.status());
    filtered_header = std::move(*reread);
    to_write = &filtered_header;
  }
  // Converted before the WAL write: a batch that cannot convert must never reach the WAL, where
  // a replay would meet it again at every start.
  auto convert_start = Clock::now();
  auto converted = Convert(*to_write);
  metrics_->convert_latency.Observe(duration<double>(Clock::now() - convert_start).count());
  if (!converted.ok()) return fail_before_write(converted.status());

  auto short_write = short_wal_->Append(std::move(payload));
  short_write.AddCallback([this, keys = std::move(keys), duplicate = std::move(duplicate), durable, finish, in_flight,
                           new_records, new_bytes, record_batch = *converted, tenant = batch.tenant,
                           signal = batch.signal](const arrow::Result<uint64_t>& written) mutable {
    const auto now = Clock::now();
    {
      std::lock_guard lock(mu_);
      // Written: the keys stay in the window (durable now); not written: they go.
      in_flight_.erase(in_flight);
      if (!written.ok()) ForgetKeys(keys, duplicate);
      metrics_->dedup_keys.Set(static_cast<double>(dedup_.size()));
      if (written.ok()) {
        wal_backoff_ = milliseconds(0);
        metrics_->wal_paused.Set(0);
        StoragePut put;
        put.wal_sequence = *written;
        put.batch_id = fmt::format("{}:{}:{}", options_.node_id, short_wal_->id(), *written);
        put.tenant = std::move(tenant);
        put.signal = signal;
        put.batch = std::move(record_batch);
        put.records = new_records;
        put.bytes = new_bytes;
        put.enqueued = now;
        queued_records_ += new_records;
        queue_.push_back(std::move(put));
      } else {
        // Pause intake and back off: callers see RESOURCE_EXHAUSTED until the WAL writes again.
        wal_backoff_ = std::min(kMaxWalBackoff, std::max(milliseconds(100), wal_backoff_ * 2));
        paused_until_ = now + wal_backoff_;
        metrics_->wal_paused.Set(1);
        spdlog::error("short WAL write failed: {}; intake paused for {} ms", written.status().message(),
                      wal_backoff_.count());
      }
    }
    if (written.ok()) {
      metrics_->accepted.Increment(static_cast<double>(new_records));
      cv_.notify_all();
    } else {
      Unreserve(new_records, new_bytes);
    }
    durable.MarkFinished(written);
    finish(written);
  });
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

    // One send per tenant and signal, in WAL order within each.
    std::stable_sort(taken.begin(), taken.end(), [](const StoragePut& a, const StoragePut& b) {
      return std::tie(a.tenant, a.signal) < std::tie(b.tenant, b.signal);
    });
    std::vector<StoragePut> unsent;
    for (size_t begin = 0; begin < taken.size();) {
      size_t end = begin;
      while (end < taken.size() && taken[end].tenant == taken[begin].tenant &&
             taken[end].signal == taken[begin].signal) {
        ++end;
      }
      std::vector<StoragePut> group(std::make_move_iterator(taken.begin() + begin),
                                    std::make_move_iterator(taken.begin() + end));
      SendGroup(group);  // leaves in `group` what storage did not confirm
      for (auto& put : group) unsent.push_back(std::move(put));
      begin = end;
    }

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
  return s;
}

}  // namespace openwit::ingest
