#pragma once
// The seam between ingest and storage (DESIGN.md "The seams between stages"): a batch handed to a
// StorageSink stays in the short WAL until the sink reports it durable.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <arrow/record_batch.h>
#include <arrow/status.h>

#include "openwit/ingest.pb.h"

namespace openwit::ingest {

// The records of one short-WAL entry, converted, on their way to storage.
struct StoragePut {
  uint64_t wal_sequence = 0;
  std::string batch_id;  // "<node id>:<WAL id>:<sequence>": the same on a replay, so storage spots it
  std::string tenant;
  v1::Signal signal = v1::SIGNAL_UNSPECIFIED;
  std::shared_ptr<arrow::RecordBatch> batch;
  int64_t records = 0;
  int64_t bytes = 0;
  std::chrono::steady_clock::time_point enqueued{};  // when it became durable in the WAL
};

class StorageSink {
 public:
  virtual ~StorageSink() = default;
  // Sends puts of one tenant and signal. Calls on_durable(i) for each put that storage reports
  // durable (fsync'd), possibly before returning an error for the rest.
  virtual arrow::Status Put(const std::vector<const StoragePut*>& puts,
                            const std::function<void(size_t index)>& on_durable) = 0;
};

}  // namespace openwit::ingest
