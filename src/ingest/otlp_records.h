#pragma once
// Walks the records of a bulk batch whatever its signal: log records, spans, or metrics, each with
// its resource and scope. One walker for dedup keys, counting and filtering.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/result.h>

#include "openwit/ingest.pb.h"

namespace openwit::ingest {

// Calls f(resource, scope, record) for every record of the batch's signal, in order.
template <class F>
void ForEachRecord(const v1::BulkBatch& batch, F&& f) {
  switch (batch.signal()) {
    case v1::SIGNAL_LOGS:
      for (const auto& r : batch.resource_logs())
        for (const auto& s : r.scope_logs())
          for (const auto& rec : s.log_records()) f(r.resource(), s.scope(), rec);
      break;
    case v1::SIGNAL_TRACES:
      for (const auto& r : batch.resource_spans())
        for (const auto& s : r.scope_spans())
          for (const auto& rec : s.spans()) f(r.resource(), s.scope(), rec);
      break;
    case v1::SIGNAL_METRICS:
      for (const auto& r : batch.resource_metrics())
        for (const auto& s : r.scope_metrics())
          for (const auto& rec : s.metrics()) f(r.resource(), s.scope(), rec);
      break;
    default:
      break;
  }
}

inline int64_t CountRecords(const v1::BulkBatch& batch) {
  int64_t n = 0;
  ForEachRecord(batch, [&](const auto&, const auto&, const auto&) { ++n; });
  return n;
}

// The dedup key of every record, in ForEachRecord order, from the batch's serialized bytes (a
// walk of the protobuf wire format: no parsing, no re-serializing). A key hashes the record's
// bytes with its resource's and scope's, seeded by tenant and signal: the same record gets the
// same key in any batch, on any retry, after any restart. Logs, spans and metrics share the
// layout: resource list (field 4, 5 or 6) -> {1: resource, 2: scope list} -> {1: scope, 2: record}.
// Invalid when the bytes are not a well-formed bulk batch.
arrow::Result<std::vector<uint64_t>> RecordKeys(std::string_view serialized_batch, const std::string& tenant,
                                                v1::Signal signal);

// Removes the records whose flag is set (flags in ForEachRecord order), then any scope or
// resource left empty.
void RemoveRecords(v1::BulkBatch* batch, const std::vector<bool>& drop);

}  // namespace openwit::ingest
