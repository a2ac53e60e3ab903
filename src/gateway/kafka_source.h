#pragma once
// The Kafka source of the gateway (ingestion-architecture.txt, "Kafka ingestion"): librdkafka
// consumers in the group kafka.group_id read kafka.topics (entries starting with ^ are regular
// expressions). Each message is one serialized OTLP export request (ExportLogsServiceRequest,
// ExportTraceServiceRequest or ExportMetricsServiceRequest: kafka.telemetry_type, or with `auto`
// the topic name saying logs, traces or metrics), of the tenant kafka.topic_tenants gives its topic.
// Its records go through Admit (validation and normalization) and a Batcher with kafka.batch_size /
// kafka.batch_timeout_ms to the ingest node, each message carrying its SourcePosition.
//
// Profiles (kafka.consumer_type): `standard` is one consumer thread that decodes what it reads and
// one intake to the ingest node. `high_performance` runs high_performance.num_consumers consumer
// threads that only poll and hand each message over a bounded channel (channel_buffer_size; a full
// one blocks the consumer: backpressure, never a drop) to one of processing_threads threads that
// decode, admit and batch; batches go out through one Batcher per intake (num_grpc_clients gRPC
// clients with their own connections). A partition always goes to the same processing thread and
// the same intake, so its messages keep their order; both profiles run the same code, the standard
// one with the processing done in place.
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
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <arrow/result.h>
#include <arrow/status.h>

#include "common/config.h"
#include "common/metrics.h"
#include "gateway/batcher.h"
#include "gateway/intake.h"
#include "gateway/kafka_topics.h"
#include "ingest/ingest_sink.h"

namespace openwit::gateway {

struct KafkaSourceOptions {
  KafkaConfig kafka;
  std::string default_tenant = "default";  // tenant of topics kafka.topic_tenants does not name
  std::string node_id = "openwit-1";
  int64_t max_batch_bytes = 48ll << 20;
  // Backoff of a refused batch: doubles from min to max (or the ingest node's retry hint).
  std::chrono::milliseconds retry_min{100};
  std::chrono::milliseconds retry_max{5000};
  // Where it reports: the node's registry; null: a registry of its own.
  std::shared_ptr<MetricsRegistry> metrics = nullptr;
};

class KafkaSource {
 public:
  // `intakes` are the ingest node's intake (local pipeline or BulkIngest clients), which must
  // outlive the source: the standard profile uses the first, high_performance all of them, one
  // Batcher each; the source batches in front of them itself.
  KafkaSource(KafkaSourceOptions options, std::vector<ingest::IngestSink*> intakes);
  ~KafkaSource();  // Stop()

  // Creates the consumers (one, or high_performance.num_consumers), the processing threads
  // (high_performance only) and starts them.
  arrow::Status Start();
  // Stops reading, waits up to `drain` for in-flight batches, commits what is acked, closes the
  // consumers (leaving the group).
  void Stop(std::chrono::milliseconds drain = std::chrono::seconds(10));

 private:
  class Worker;
  class Processors;
  struct MessageWork;
  struct Metrics;
  // Processes a message in place (standard) or hands it to its partition's processing thread.
  void Dispatch(MessageWork work);
  // Decodes, admits and batches one message (a processing thread, or the consumer's in place).
  void Process(MessageWork work) const;
  Batcher* BatcherFor(const std::string& topic, int32_t partition) const;

  const KafkaSourceOptions options_;
  const std::shared_ptr<MetricsRegistry> registry_;
  const std::unique_ptr<Metrics> metrics_;
  const Intake intake_;
  std::vector<ingest::IngestSink*> intakes_;
  KafkaTopicTenants tenants_;
  std::vector<std::unique_ptr<Batcher>> batchers_;
  std::unique_ptr<Processors> processors_;  // null: standard profile
  std::vector<std::unique_ptr<Worker>> workers_;
  bool stopped_ = false;
};

}  // namespace openwit::gateway
