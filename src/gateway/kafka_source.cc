#include "gateway/kafka_source.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <librdkafka/rdkafkacpp.h>
#include <spdlog/spdlog.h>

#include "gateway/bounded_channel.h"
#include "otlp/export_request.h"
#include "otlp/otlp_records.h"

namespace openwit::gateway {

using Clock = std::chrono::steady_clock;
using ingest::v1::Signal;

namespace {

using PartitionKey = std::pair<std::string, int32_t>;

// What the processing of a message and the answers to its batch tell the consumer thread; pushed
// from processing threads and ingest threads.
struct SourceEvent {
  enum class Kind { kProcessed, kAnswered };
  Kind kind = Kind::kProcessed;
  PartitionKey key;
  uint64_t generation = 0;
  int64_t offset = 0;
  // kProcessed: the admitted records, kept to send again after a refusal; none when the message was
  // undecodable or every record was rejected (the offset is done).
  int64_t records = 0;
  ingest::v1::BulkBatch batch;
  // kAnswered: the ingest node's outcome.
  arrow::Status status;
  int64_t retry_after_ms = 0;
};

// Shared with the processing threads and the callbacks, so an event arriving after the worker is
// gone is harmless.
struct EventQueue {
  std::mutex mu;
  std::vector<SourceEvent> events;
  void Push(SourceEvent e) {
    std::lock_guard lock(mu);
    events.push_back(std::move(e));
  }
  std::vector<SourceEvent> Take() {
    std::lock_guard lock(mu);
    return std::exchange(events, {});
  }
};

ingest::SubmitCallback AnswerTo(std::shared_ptr<EventQueue> events, PartitionKey key, uint64_t generation,
                                int64_t offset) {
  return [events = std::move(events), key = std::move(key), generation, offset](ingest::SubmitOutcome o) {
    SourceEvent e;
    e.kind = SourceEvent::Kind::kAnswered;
    e.key = key;
    e.generation = generation;
    e.offset = offset;
    e.status = std::move(o.status);
    e.retry_after_ms = o.retry_after_ms;
    events->Push(std::move(e));
  };
}

std::string Describe(const PartitionKey& k) { return fmt::format("{}[{}]", k.first, k.second); }

}  // namespace

struct KafkaSource::Metrics {
  explicit Metrics(MetricsRegistry& registry) : r(registry) {}
  MetricsRegistry& r;
  prometheus::Counter& consumed = r.Counter("kafka.messages.consumed", "Kafka messages read");
  prometheus::Counter& invalid =
      r.Counter("kafka.messages.invalid", "Kafka messages that are no OTLP export request of their signal (skipped)");
  prometheus::Counter& rejected =
      r.Counter("kafka.messages.rejected", "Kafka messages the ingest node refused as invalid (skipped)");
  prometheus::Counter& committed = r.Counter("kafka.offsets.committed", "Partition offsets committed to Kafka");
  prometheus::Counter& pauses = r.Counter("kafka.partitions.pauses", "Times a partition was paused by backpressure");
  prometheus::Counter& retries = r.Counter("kafka.messages.retried", "Kafka messages sent again after a refusal");
  prometheus::Counter& errors = r.Counter("kafka.consumer.errors", "Errors reported by the Kafka client");
  prometheus::Counter& channel_waits = r.Counter(
      "kafka.channel.waits", "Times a consumer thread waited for room in a full processing channel (backpressure)");
};

// One Kafka message on its way from a consumer thread to the processing of its partition.
struct KafkaSource::MessageWork {
  std::shared_ptr<EventQueue> events;  // the consumer's
  PartitionKey key;
  uint64_t generation = 0;
  int64_t offset = 0;
  Signal signal = ingest::v1::SIGNAL_UNSPECIFIED;
  std::string tenant;
  Batcher* batcher = nullptr;
  std::unique_ptr<RdKafka::Message> message;
};

// Tells the consumer what came of the message before its batch is submitted, so the answer always
// finds the message's state.
void KafkaSource::Process(MessageWork w) const {
  SourceEvent done;
  done.key = w.key;
  done.generation = w.generation;
  done.offset = w.offset;
  ingest::v1::BulkBatch batch;
  const size_t bytes = w.message->len();
  const bool decoded =
      w.signal != ingest::v1::SIGNAL_UNSPECIFIED &&
      otlp::DecodeExportRequest(w.signal, "application/x-protobuf",
                                std::string_view(static_cast<const char*>(w.message->payload()), bytes), &batch)
          .ok();
  w.message.reset();  // librdkafka's buffer is not needed past the decode
  if (!decoded) {
    metrics_->invalid.Increment();
    spdlog::warn("kafka: skipping {} offset {} ({} bytes): {}", Describe(w.key), w.offset, bytes,
                 w.signal == ingest::v1::SIGNAL_UNSPECIFIED
                     ? "the topic name says neither logs, traces nor metrics (set kafka.telemetry_type)"
                     : fmt::format("not an OTLP {} export request", ingest::v1::Signal_Name(w.signal)));
    return w.events->Push(std::move(done));
  }
  batch.set_tenant(w.tenant);
  intake_.Admit(&batch);  // bad records are dropped (counted) and the rest normalized
  done.records = otlp::CountRecords(batch);
  if (done.records == 0) return w.events->Push(std::move(done));
  auto* position = batch.add_positions();
  position->set_topic(w.key.first);
  position->set_partition(w.key.second);
  position->set_first_offset(w.offset);
  position->set_last_offset(w.offset);
  done.batch = batch;
  w.events->Push(std::move(done));
  w.batcher->Submit(std::move(batch), AnswerTo(w.events, w.key, w.generation, w.offset));
}

// The processing threads of the high-performance profile, each behind its own bounded channel.
class KafkaSource::Processors {
 public:
  Processors(const KafkaSource* source, int threads, int64_t channel_capacity) : source_(source) {
    for (int i = 0; i < threads; ++i) {
      channels_.push_back(std::make_unique<BoundedChannel<MessageWork>>(static_cast<size_t>(channel_capacity)));
    }
    for (auto& channel : channels_) {
      threads_.emplace_back([source, ch = channel.get()] {
        while (auto work = ch->Pop()) source->Process(std::move(*work));
      });
    }
  }
  ~Processors() { Stop(); }

  // Blocks while the channel is full. A partition always lands on the same thread: its order holds.
  void Push(size_t partition_hash, MessageWork work) {
    bool waited = false;
    // Refused only once stopping, when no consumer thread runs any more.
    channels_[partition_hash % channels_.size()]->Push(std::move(work), &waited);
    if (waited) source_->metrics_->channel_waits.Increment();
  }

  // Drops what is still queued (its offsets are not committed: it comes again) and joins.
  void Stop() {
    for (auto& channel : channels_) channel->Close(/*discard=*/true);
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  const KafkaSource* source_;
  std::vector<std::unique_ptr<BoundedChannel<MessageWork>>> channels_;
  std::vector<std::thread> threads_;
};

namespace {

// Spreads the partitions of a topic evenly over `n` processing threads or intakes.
size_t PartitionHash(const std::string& topic, int32_t partition) {
  return std::hash<std::string>{}(topic) + static_cast<size_t>(partition);
}

}  // namespace

// One librdkafka consumer in the group and the thread that polls it. Everything but the event
// queue is touched by that thread only (librdkafka calls the rebalance and event callbacks from
// consume()).
class KafkaSource::Worker : public RdKafka::RebalanceCb, public RdKafka::EventCb {
 public:
  Worker(KafkaSource* source, int index)
      : source_(source),
        options_(source->options_),
        index_(index),
        paused_gauge_(source->registry_->Gauge("kafka.partitions.paused",
                                               "Partitions paused by backpressure or a failing ingest node",
                                               {{"consumer", std::to_string(index)}})),
        lag_gauge_(source->registry_->Gauge("kafka.consumer.lag",
                                            "Messages behind the high watermark on assigned partitions",
                                            {{"consumer", std::to_string(index)}})) {
    const int64_t channel = options_.kafka.high_performance.channel_buffer_size;
    max_inflight_records_ = std::max<int64_t>(channel, 2 * options_.kafka.batch_size);
  }

  ~Worker() override {
    if (thread_.joinable()) thread_.join();
    Close();
  }

  arrow::Status Create() {
    const auto& k = options_.kafka;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string err;
    auto set = [&](const std::string& name, const std::string& value) -> arrow::Status {
      if (conf->set(name, value, err) != RdKafka::Conf::CONF_OK) {
        return arrow::Status::Invalid("kafka: ", name, "=", value, ": ", err);
      }
      return arrow::Status::OK();
    };
    ARROW_RETURN_NOT_OK(set("bootstrap.servers", fmt::format("{}", fmt::join(k.brokers, ","))));
    ARROW_RETURN_NOT_OK(set("group.id", k.group_id));
    ARROW_RETURN_NOT_OK(set("client.id", fmt::format("{}-kafka-{}", options_.node_id, index_)));
    ARROW_RETURN_NOT_OK(set("enable.auto.commit", "false"));
    ARROW_RETURN_NOT_OK(set("enable.auto.offset.store", "false"));
    ARROW_RETURN_NOT_OK(set("auto.offset.reset", "earliest"));

    ARROW_RETURN_NOT_OK(set("fetch.max.bytes", std::to_string(k.fetch_max_bytes)));
    // librdkafka's own bounds: fetch.min.bytes <= 1e8, max.partition.fetch.bytes <= 1e9,
    // fetch.max.bytes >= message.max.bytes.
    ARROW_RETURN_NOT_OK(set("fetch.min.bytes", std::to_string(std::min<int64_t>(k.fetch_min_bytes, 100000000))));
    ARROW_RETURN_NOT_OK(
        set("max.partition.fetch.bytes", std::to_string(std::min<int64_t>(k.max_partition_fetch_bytes, 1000000000))));
    ARROW_RETURN_NOT_OK(set("message.max.bytes", std::to_string(std::min<int64_t>(k.fetch_max_bytes, 1000000))));
    ARROW_RETURN_NOT_OK(
        set("receive.message.max.bytes", std::to_string(std::min<int64_t>(k.fetch_max_bytes + 1000000, 2147483647))));
    ARROW_RETURN_NOT_OK(set("fetch.wait.max.ms", "100"));
    ARROW_RETURN_NOT_OK(set("session.timeout.ms", std::to_string(k.session_timeout_ms)));
    ARROW_RETURN_NOT_OK(set("max.poll.interval.ms", std::to_string(std::max<int64_t>(300000, k.session_timeout_ms))));
    ARROW_RETURN_NOT_OK(
        set("heartbeat.interval.ms", std::to_string(std::min<int64_t>(3000, k.session_timeout_ms / 3))));
    ARROW_RETURN_NOT_OK(set("topic.metadata.refresh.interval.ms", "10000"));  // new topics matching a ^pattern
    if (conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(this), err) != RdKafka::Conf::CONF_OK ||
        conf->set("event_cb", static_cast<RdKafka::EventCb*>(this), err) != RdKafka::Conf::CONF_OK) {
      return arrow::Status::Invalid("kafka: ", err);
    }
    consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!consumer_) return arrow::Status::Invalid("kafka: cannot create a consumer: ", err);
    if (auto e = consumer_->subscribe(k.topics); e != RdKafka::ERR_NO_ERROR) {
      return arrow::Status::Invalid("kafka: cannot subscribe to ", fmt::format("{}", fmt::join(k.topics, ", ")), ": ",
                                    RdKafka::err2str(e));
    }
    return arrow::Status::OK();
  }

  void Run() {
    thread_ = std::thread([this] { Loop(); });
  }
  void RequestStop(Clock::time_point deadline) {
    std::lock_guard lock(stop_mu_);
    stop_deadline_ = deadline;
    stopping_ = true;
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  // Leaves the group (a last revoke commits what is acked). Only once the thread is joined and no
  // processing thread holds a message of this consumer any more.
  void Close() {
    if (!consumer_) return;
    consumer_->close();
    consumer_.reset();
    paused_gauge_.Set(0);
  }

 private:
  struct InFlight {
    ingest::v1::BulkBatch batch;  // admitted records of the message, kept to send again
    int64_t records = 0;
    int attempts = 0;
    bool failing = false;  // refused at least once and not yet acked
  };
  struct Partition {
    uint64_t generation = 0;
    OffsetTracker offsets;
    std::map<int64_t, InFlight> inflight;
    std::map<int64_t, Clock::time_point> retry_at;
    int failing = 0;
    std::chrono::milliseconds backoff{0};
    bool paused = false;         // as librdkafka has it
    bool pause_counted = false;  // this episode of refusals is in kafka.partitions.pauses
    int64_t last_offset = -1;
    Signal signal = ingest::v1::SIGNAL_UNSPECIFIED;  // of the topic, decided once per assignment
    std::string tenant;
  };

  bool Stopping(Clock::time_point* deadline) {
    std::lock_guard lock(stop_mu_);
    *deadline = stop_deadline_;
    return stopping_;
  }

  void Loop() {
    auto next_commit = Clock::now();
    auto next_lag = Clock::now();
    bool paused_for_stop = false;
    while (true) {
      Clock::time_point deadline;
      const bool stopping = Stopping(&deadline);
      ProcessEvents();
      RetryDue();
      if (stopping && !paused_for_stop) {
        paused_for_stop = true;  // no new messages: only what is in flight finishes
        for (auto& [key, p] : parts_) p.paused = SetPaused(key, true) || p.paused;
      }
      if (!stopping) UpdatePauses();
      if (Clock::now() >= next_commit) {
        Commit(std::nullopt);
        next_commit = Clock::now() + std::chrono::milliseconds(200);
      }
      if (Clock::now() >= next_lag) {
        UpdateLag();
        next_lag = Clock::now() + std::chrono::seconds(1);
      }
      if (stopping && ((queued_ == 0 && inflight_records_ == 0) || Clock::now() >= deadline)) break;
      std::unique_ptr<RdKafka::Message> msg(consumer_->consume(20));
      if (msg && !stopping) Handle(std::move(msg));
    }
    ProcessEvents();
    Commit(std::nullopt);
    if (inflight_records_ > 0 || queued_ > 0) {
      spdlog::warn(
          "kafka consumer {}: stopping with {} records unacked and {} messages unprocessed; their offsets stay "
          "uncommitted",
          index_, inflight_records_, queued_);
    }
  }

  // Takes the message: it travels to its processing (its payload stays in librdkafka's buffer).
  void Handle(std::unique_ptr<RdKafka::Message> message) {
    RdKafka::Message& msg = *message;
    switch (msg.err()) {
      case RdKafka::ERR_NO_ERROR:
        break;
      case RdKafka::ERR__TIMED_OUT:
      case RdKafka::ERR__PARTITION_EOF:
        return;
      default:
        source_->metrics_->errors.Increment();
        spdlog::warn("kafka consumer {}: {}", index_, msg.errstr());
        return;
    }
    source_->metrics_->consumed.Increment();
    PartitionKey key{msg.topic_name(), msg.partition()};
    auto it = parts_.find(key);
    if (it == parts_.end()) return;  // not (or no longer) ours: it comes again to the owner
    Partition& p = it->second;
    const int64_t offset = msg.offset();
    if (!p.offsets.Track(offset)) return;  // already seen in this assignment
    p.last_offset = offset;

    MessageWork work;
    work.events = events_;
    work.key = key;
    work.generation = p.generation;
    work.offset = offset;
    work.signal = p.signal;
    work.tenant = p.tenant;
    work.batcher = source_->BatcherFor(key.first, key.second);
    work.message = std::move(message);
    ++queued_;
    source_->Dispatch(std::move(work));
  }

  // A retry of refused records, from this thread; the first send is the processing's.
  void Send(const PartitionKey& key, const Partition& p, int64_t offset, InFlight& f) {
    ++f.attempts;
    source_->BatcherFor(key.first, key.second)->Submit(f.batch, AnswerTo(events_, key, p.generation, offset));
  }

  void ProcessEvents() {
    for (auto& e : events_->Take()) {
      if (e.kind == SourceEvent::Kind::kProcessed) --queued_;
      auto it = parts_.find(e.key);
      if (it == parts_.end() || it->second.generation != e.generation) continue;  // revoked meanwhile
      Partition& p = it->second;
      if (e.kind == SourceEvent::Kind::kProcessed) {
        if (e.records == 0) {
          p.offsets.Ack(e.offset);  // undecodable or nothing valid in it: done
          continue;
        }
        InFlight& f = p.inflight[e.offset];
        f.batch = std::move(e.batch);
        f.records = e.records;
        f.attempts = 1;
        inflight_records_ += e.records;
        continue;
      }
      auto f = p.inflight.find(e.offset);
      if (f == p.inflight.end()) continue;
      if (e.status.ok() || e.status.IsInvalid()) {
        if (!e.status.ok()) {
          source_->metrics_->rejected.Increment();
          spdlog::error("kafka: the ingest node refused {} offset {} as invalid, skipping it: {}", Describe(e.key),
                        e.offset, e.status.message());
        }
        if (f->second.failing) --p.failing;
        if (p.failing == 0) p.backoff = std::chrono::milliseconds(0);
        inflight_records_ -= f->second.records;
        p.inflight.erase(f);
        p.offsets.Ack(e.offset);
        continue;
      }
      // Backpressure or a failing ingest node: the same records again after a backoff.
      const bool first_refusal = p.failing == 0;  // logged once per episode, not per message
      if (!f->second.failing) {
        f->second.failing = true;
        ++p.failing;
      }
      p.backoff = std::clamp(p.backoff * 2, options_.retry_min, options_.retry_max);
      auto delay = std::max(p.backoff, std::chrono::milliseconds(e.retry_after_ms));
      p.retry_at[e.offset] = Clock::now() + std::min(delay, options_.retry_max);
      if (first_refusal || f->second.attempts % 100 == 0) {
        spdlog::info("kafka: {} offset {} refused ({}); partition paused, retrying in {} ms", Describe(e.key), e.offset,
                     e.status.message(), delay.count());
      }
    }
  }

  void RetryDue() {
    const auto now = Clock::now();
    for (auto& [key, p] : parts_) {
      for (auto it = p.retry_at.begin(); it != p.retry_at.end();) {
        if (it->second > now) {
          ++it;
          continue;
        }
        auto f = p.inflight.find(it->first);
        if (f != p.inflight.end()) {
          source_->metrics_->retries.Increment();
          Send(key, p, it->first, f->second);
        }
        it = p.retry_at.erase(it);
      }
    }
  }

  // Pauses partitions with refused records (and all of them while too much is in flight);
  // resumes the others.
  void UpdatePauses() {
    if (inflight_records_ > max_inflight_records_) overloaded_ = true;
    if (inflight_records_ <= max_inflight_records_ / 2) overloaded_ = false;
    int paused = 0;
    for (auto& [key, p] : parts_) {
      const bool want = p.failing > 0 || overloaded_;
      if (want != p.paused && SetPaused(key, want)) {
        p.paused = want;
        if (!want) spdlog::info("kafka: {} resumed", Describe(key));
      }
      // Once per episode of refusals, also when the partition was paused already because too much
      // was in flight (it was not counted then, and a refusal that came during such a pause never was).
      const bool refused = p.paused && p.failing > 0;
      if (refused && !p.pause_counted) source_->metrics_->pauses.Increment();
      p.pause_counted = refused;
      paused += p.paused;
    }
    paused_gauge_.Set(paused);
  }

  bool SetPaused(const PartitionKey& key, bool pause) {
    std::vector<RdKafka::TopicPartition*> tps{RdKafka::TopicPartition::create(key.first, key.second)};
    auto err = pause ? consumer_->pause(tps) : consumer_->resume(tps);
    RdKafka::TopicPartition::destroy(tps);
    if (err != RdKafka::ERR_NO_ERROR) {
      spdlog::warn("kafka: cannot {} {}: {}", pause ? "pause" : "resume", Describe(key), RdKafka::err2str(err));
      return false;
    }
    return true;
  }

  // Commits the acked prefix of every partition (or of `only`) that moved since the last commit.
  void Commit(const std::optional<std::set<PartitionKey>>& only) {
    std::vector<RdKafka::TopicPartition*> tps;
    for (auto& [key, p] : parts_) {
      if (only && !only->count(key)) continue;
      if (auto c = p.offsets.Committable()) tps.push_back(RdKafka::TopicPartition::create(key.first, key.second, *c));
    }
    if (tps.empty()) return;
    auto err = consumer_->commitSync(tps);
    if (err != RdKafka::ERR_NO_ERROR && err != RdKafka::ERR__NO_OFFSET) {
      spdlog::warn("kafka consumer {}: commit failed: {}", index_, RdKafka::err2str(err));
    }
    for (auto* tp : tps) {
      if (tp->err() != RdKafka::ERR_NO_ERROR) continue;
      auto it = parts_.find({tp->topic(), tp->partition()});
      if (it != parts_.end()) it->second.offsets.MarkCommitted(tp->offset());
      source_->metrics_->committed.Increment();
    }
    RdKafka::TopicPartition::destroy(tps);
  }

  void UpdateLag() {
    int64_t lag = 0;
    for (auto& [key, p] : parts_) {
      int64_t low = 0, high = 0;
      if (consumer_->get_watermark_offsets(key.first, key.second, &low, &high) != RdKafka::ERR_NO_ERROR) continue;
      const int64_t next = p.last_offset >= 0 ? p.last_offset + 1 : low;
      if (high > next) lag += high - next;
    }
    lag_gauge_.Set(static_cast<double>(lag));
  }

  // librdkafka calls this from consume(): eager rebalancing, so a revoke is of everything held.
  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    std::vector<std::string> names;
    for (auto* tp : partitions) names.push_back(Describe({tp->topic(), tp->partition()}));
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      spdlog::info("kafka consumer {}: assigned {}", index_, fmt::join(names, ", "));
      for (auto* tp : partitions) {
        Partition fresh;
        fresh.generation = ++generation_;
        fresh.signal = KafkaTopicSignal(options_.kafka.telemetry_type, tp->topic());
        fresh.tenant = source_->tenants_.TenantOf(tp->topic());
        parts_[{tp->topic(), tp->partition()}] = std::move(fresh);
      }
      consumer->assign(partitions);
      consumer->resume(partitions);  // a fresh assignment starts unpaused, whatever it was before
      return;
    }
    spdlog::info("kafka consumer {}: revoked {}", index_, fmt::join(names, ", "));
    ProcessEvents();
    std::set<PartitionKey> revoked;
    for (auto* tp : partitions) revoked.insert({tp->topic(), tp->partition()});
    Commit(revoked);
    for (const auto& key : revoked) {
      auto it = parts_.find(key);
      if (it == parts_.end()) continue;
      for (auto& [offset, f] : it->second.inflight) inflight_records_ -= f.records;
      parts_.erase(it);  // late acks carry the old generation and are ignored
    }
    consumer->unassign();
  }

  void event_cb(RdKafka::Event& event) override {
    switch (event.type()) {
      case RdKafka::Event::EVENT_ERROR:
        source_->metrics_->errors.Increment();
        spdlog::warn("kafka consumer {}: {}: {}", index_, RdKafka::err2str(event.err()), event.str());
        break;
      case RdKafka::Event::EVENT_LOG:
        if (event.severity() <= RdKafka::Event::EVENT_SEVERITY_WARNING) {
          spdlog::warn("kafka consumer {}: {} {}", index_, event.fac(), event.str());
        } else {
          spdlog::debug("kafka consumer {}: {} {}", index_, event.fac(), event.str());
        }
        break;
      default:
        break;
    }
  }

  KafkaSource* const source_;
  const KafkaSourceOptions& options_;
  const int index_;
  prometheus::Gauge& paused_gauge_;
  prometheus::Gauge& lag_gauge_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::shared_ptr<EventQueue> events_ = std::make_shared<EventQueue>();
  std::map<PartitionKey, Partition> parts_;
  uint64_t generation_ = 0;
  int64_t inflight_records_ = 0;  // processed, submitted and not yet acked
  int64_t queued_ = 0;            // dispatched and not yet processed
  int64_t max_inflight_records_ = 0;
  bool overloaded_ = false;
  std::thread thread_;
  std::mutex stop_mu_;
  bool stopping_ = false;
  Clock::time_point stop_deadline_{};
};

KafkaSource::KafkaSource(KafkaSourceOptions options, std::vector<ingest::IngestSink*> intakes)
    : options_(std::move(options)),
      registry_(OwnRegistryIfNone(options_.metrics)),
      metrics_(std::make_unique<Metrics>(*registry_)),
      intake_(*registry_),
      intakes_(std::move(intakes)) {}

KafkaSource::~KafkaSource() { Stop(); }

void KafkaSource::Dispatch(MessageWork work) {
  if (!processors_) return Process(std::move(work));
  const size_t hash = PartitionHash(work.key.first, work.key.second);
  processors_->Push(hash, std::move(work));
}

Batcher* KafkaSource::BatcherFor(const std::string& topic, int32_t partition) const {
  return batchers_[PartitionHash(topic, partition) % batchers_.size()].get();
}

arrow::Status KafkaSource::Start() {
  if (intakes_.empty()) return arrow::Status::Invalid("kafka: no intake to the ingest node");
  ARROW_ASSIGN_OR_RAISE(tenants_, KafkaTopicTenants::Make(options_.kafka.topic_tenants, options_.default_tenant));
  const bool high = options_.kafka.consumer_type == "high_performance";
  const auto& hp = options_.kafka.high_performance;
  const size_t intakes = high ? intakes_.size() : 1;
  for (size_t i = 0; i < intakes; ++i) {
    BatcherOptions batching;
    batching.batch_size = options_.kafka.batch_size;
    batching.batch_timeout = std::chrono::milliseconds(options_.kafka.batch_timeout_ms);
    batching.max_batch_bytes = options_.max_batch_bytes;
    // Batch ids stay unique across the batchers.
    batching.node_id = options_.node_id + "-kafka" + (i == 0 ? "" : std::to_string(i));
    batching.metrics = registry_;
    batchers_.push_back(std::make_unique<Batcher>(batching, intakes_[i]));
  }
  if (high) {
    processors_ = std::make_unique<Processors>(this, static_cast<int>(hp.processing_threads), hp.channel_buffer_size);
  }
  const int n = high ? static_cast<int>(hp.num_consumers) : 1;
  for (int i = 0; i < n; ++i) {
    auto worker = std::make_unique<Worker>(this, i);
    ARROW_RETURN_NOT_OK(worker->Create());
    workers_.push_back(std::move(worker));
  }
  for (auto& w : workers_) w->Run();
  spdlog::info("kafka source: {} consumer(s), {} processing thread(s), {} intake(s) in group \"{}\" on {} from {}", n,
               high ? hp.processing_threads : 0, intakes, options_.kafka.group_id,
               fmt::join(options_.kafka.topics, ", "), fmt::join(options_.kafka.brokers, ","));
  return arrow::Status::OK();
}

void KafkaSource::Stop(std::chrono::milliseconds drain) {
  if (stopped_) return;
  stopped_ = true;
  const auto deadline = Clock::now() + drain;
  for (auto& w : workers_) w->RequestStop(deadline);
  for (auto& w : workers_) w->Join();
  // No consumer thread runs now; the messages still queued go back unprocessed (and uncommitted)
  // before their consumers are closed.
  if (processors_) processors_->Stop();
  for (auto& w : workers_) w->Close();
  workers_.clear();
  processors_.reset();
  batchers_.clear();  // what they still hold is sent; its acks find no one, and nothing was committed for it
}

}  // namespace openwit::gateway
