#pragma once
// The Kafka source of the gateway (ingestion-architecture.txt, "Kafka ingestion"): librdkafka
// consumers in the group kafka.group_id read kafka.topics (entries starting with ^ are regular
// expressions). Each message is one serialized OTLP export request (ExportLogsServiceRequest,
// ExportTraceServiceRequest or ExportMetricsServiceRequest: kafka.telemetry_type, or with `auto`
// the topic name saying logs, traces or metrics). Its records go through Admit (validation and
// normalization) and a Batcher with kafka.batch_size / kafka.batch_timeout_ms to the ingest node,
// each message carrying its SourcePosition.
//
// Offsets: a message's offset is committed only when it and every message before it in its
// partition were acked by the ingest node (short WAL durable) or skipped as undecodable; acks may
// arrive in any order (OffsetTracker). Backpressure (RESOURCE_EXHAUSTED) or a failing ingest
// node pauses the partition, retries the same records with backoff and resumes after success:
// nothing is skipped and nothing is committed past an unacked record. On a revoke the acked
// offsets are committed and the partition's in-flight state dropped: those messages come again
// to whoever gets the partition, and the ingest node's dedup makes the repeat invisible.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <arrow/status.h>

#include "common/config.h"
#include "gateway/batcher.h"
#include "gateway/otlp_http.h"

namespace openwit::gateway {

// Commit bookkeeping of one partition. Offsets are tracked in the order they are consumed
// (strictly increasing, gaps allowed: compaction, transaction markers); each is acked once,
// in any order. The committable offset is the last offset of the acked prefix plus one.
class OffsetTracker {
 public:
  // Registers a consumed offset; false (ignored) when not above every tracked one.
  bool Track(int64_t offset);
  // Marks a tracked offset as done; false when it is not tracked (already acked, or unknown).
  bool Ack(int64_t offset);
  // The offset to commit now (last offset of the acked prefix + 1), when it moved past the last
  // MarkCommitted; nullopt otherwise.
  std::optional<int64_t> Committable() const;
  // The acked prefix + 1 (what a commit would say), or nullopt when nothing was ever acked.
  std::optional<int64_t> AckedUpTo() const { return acked_up_to_ >= 0 ? std::optional(acked_up_to_) : std::nullopt; }
  void MarkCommitted(int64_t offset) { committed_ = std::max(committed_, offset); }
  // Offsets tracked and not yet in the acked prefix.
  size_t outstanding() const { return pending_.size(); }

 private:
  std::map<int64_t, bool> pending_;  // offset -> acked, only past the acked prefix
  int64_t last_tracked_ = -1;
  int64_t acked_up_to_ = -1;  // -1: nothing acked yet
  int64_t committed_ = -1;
};

// The signal of a topic's messages: `telemetry_type` unless auto, else from the topic name
// (containing "logs", "traces"/"spans" or "metrics"); SIGNAL_UNSPECIFIED when it cannot tell.
ingest::v1::Signal KafkaTopicSignal(const std::string& telemetry_type, const std::string& topic);

struct KafkaSourceOptions {
  KafkaConfig kafka;
  std::string tenant = "default";  // tenant of every record read from Kafka
  std::string node_id = "openwit-1";
  int64_t max_batch_bytes = 48ll << 20;
  // Backoff of a refused batch: doubles from min to max (or the ingest node's retry hint).
  std::chrono::milliseconds retry_min{100};
  std::chrono::milliseconds retry_max{5000};
};

class KafkaSource {
 public:
  // `submit` is the ingest node's intake (local pipeline or BulkIngest client); the source batches
  // in front of it itself.
  KafkaSource(KafkaSourceOptions options, IngestSubmit submit);
  ~KafkaSource();  // Stop()

  // Creates the consumers (one, or high_performance.num_consumers) and starts their threads.
  arrow::Status Start();
  // Stops reading, waits up to `drain` for in-flight batches, commits what is acked, closes the
  // consumers (leaving the group).
  void Stop(std::chrono::milliseconds drain = std::chrono::seconds(10));

 private:
  class Worker;
  const KafkaSourceOptions options_;
  IngestSubmit submit_;
  std::unique_ptr<Batcher> batcher_;
  std::vector<std::unique_ptr<Worker>> workers_;
  bool stopped_ = false;
};

}  // namespace openwit::gateway
