#pragma once
// Per-record validation at the gateway: a bad record is rejected alone, with a message naming the
// field, and the good records of the same request go on (OTLP partial success). Checked: trace and
// span id lengths, span end before start, timestamps more than a day in the future, empty span
// and metric names, exemplar ids.

#include <cstdint>
#include <string>
#include <vector>

#include "openwit/ingest.pb.h"

namespace openwit::gateway {

struct Validation {
  std::vector<bool> rejected;  // per record, in ForEachRecord order
  int64_t rejected_records = 0;
  int64_t rejected_items = 0;  // what OTLP counts: log records, spans, or metric data points
  std::string message;         // the first problems, each naming its field
};

Validation ValidateRecords(const ingest::v1::BulkBatch& batch, uint64_t now_unix_nano);

}  // namespace openwit::gateway
