#pragma once
// Walks the records of a bulk batch whatever its signal: log records, spans, or metrics, each with
// its resource and scope. One walker for dedup keys, counting and filtering.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/result.h>

#include "openwit/ingest.pb.h"

namespace openwit::otlp {

// Calls f(position, resource, scope, record) for every record of the batch's signal, in order;
// position holds the record's indexes in the batch (resource, scope within it, record within that).
struct RecordPosition {
  int resource = 0;
  int scope = 0;
  int record = 0;
};

template <class F>
void ForEachRecord(const ingest::v1::BulkBatch& batch, F&& f) {
  auto walk = [&](const auto& resources, auto scopes_of, auto records_of) {
    RecordPosition at;
    for (at.resource = 0; at.resource < resources.size(); ++at.resource) {
      const auto& r = resources[at.resource];
      const auto& scopes = scopes_of(r);
      for (at.scope = 0; at.scope < scopes.size(); ++at.scope) {
        const auto& s = scopes[at.scope];
        const auto& records = records_of(s);
        for (at.record = 0; at.record < records.size(); ++at.record) f(at, r.resource(), s.scope(), records[at.record]);
      }
    }
  };
  switch (batch.signal()) {
    case ingest::v1::SIGNAL_LOGS:
      walk(
          batch.resource_logs(), [](const auto& r) -> const auto& { return r.scope_logs(); },
          [](const auto& s) -> const auto& { return s.log_records(); });
      break;
    case ingest::v1::SIGNAL_TRACES:
      walk(
          batch.resource_spans(), [](const auto& r) -> const auto& { return r.scope_spans(); },
          [](const auto& s) -> const auto& { return s.spans(); });
      break;
    case ingest::v1::SIGNAL_METRICS:
      walk(
          batch.resource_metrics(), [](const auto& r) -> const auto& { return r.scope_metrics(); },
          [](const auto& s) -> const auto& { return s.metrics(); });
      break;
    default:
      break;
  }
}

// The data points of a metric (each a row of the metrics table); none for a metric without data.
// `M` is the generated Metric or its wire view (otlp_wire.h).
template <class M>
int64_t MetricDataPoints(const M& m) {
  using Metric = opentelemetry::proto::metrics::v1::Metric;
  switch (m.data_case()) {
    case Metric::kGauge:
      return static_cast<int64_t>(m.gauge().data_points().size());
    case Metric::kSum:
      return static_cast<int64_t>(m.sum().data_points().size());
    case Metric::kHistogram:
      return static_cast<int64_t>(m.histogram().data_points().size());
    case Metric::kExponentialHistogram:
      return static_cast<int64_t>(m.exponential_histogram().data_points().size());
    case Metric::kSummary:
      return static_cast<int64_t>(m.summary().data_points().size());
    default:
      return 0;
  }
}

inline int64_t CountRecords(const ingest::v1::BulkBatch& batch) {
  int64_t n = 0;
  ForEachRecord(batch, [&](const RecordPosition&, const auto&, const auto&, const auto&) { ++n; });
  return n;
}

// The bytes a batch's rows repeat: each record becomes a row carrying its resource's and scope's
// attributes (metrics: each data point), which the wire format holds once. A batch's size in
// memory once converted is about its wire size plus this; 100,000 tiny records under 1 MB of
// resource attributes repeat 100 GB.
int64_t RepeatedBytes(const ingest::v1::BulkBatch& batch);

// A serialized bulk batch read without parsing its records: its own fields, and where the
// resources of its signal's list are in the bytes (views: valid while the bytes are).
struct BulkHeader {
  std::string batch_id;
  std::string tenant;
  ingest::v1::Signal signal = ingest::v1::SIGNAL_UNSPECIFIED;
  google::protobuf::RepeatedPtrField<ingest::v1::SourcePosition> positions;
  uint64_t received_unix_nano = 0;          // when the gateway received it (0: not said)
  std::vector<std::string_view> resources;  // resource_logs, _spans or _metrics, by `signal`
  // How many entries each of the three lists has (logs, traces, metrics), for Validate.
  int list_sizes[3] = {0, 0, 0};
};

// Invalid when the bytes are not a serialized bulk batch (protobuf wire format, UTF-8 of tenant,
// batch_id and positions); the records are read later, by the converter. Where protobuf would
// skip a group (a proto2 encoding no OpenWit gateway writes) as an unknown field, this and
// RecordKeys refuse the batch, saying so.
arrow::Result<BulkHeader> ReadBulkHeader(std::string_view serialized_batch);

// The dedup key of every record of the batch, in ForEachRecord order, from its resources' bytes
// (a walk of the protobuf wire format: no parsing). A key hashes the record's bytes with its
// resource's and scope's, seeded by tenant and signal: the same record gets the same key in any
// batch, on any retry, after any restart. Logs, spans and metrics share the layout: resource ->
// {1: resource, 2: scope list} -> {1: scope, 2: record}. Invalid when a resource's bytes are not
// well formed.
arrow::Result<std::vector<uint64_t>> RecordKeys(const BulkHeader& batch);

// Removes the records whose flag is set (flags in ForEachRecord order), then any scope or
// resource left empty.
void RemoveRecords(ingest::v1::BulkBatch* batch, const std::vector<bool>& drop);

}  // namespace openwit::otlp
