#pragma once
// The seam between gateway and ingest (DESIGN.md "The seams between stages"): the gateway hands
// each bulk batch to an IngestSink and answers its client, or commits its Kafka offset, only on
// the outcome. This header is all the gateway sees of the ingest stage (the build holds it to
// that: src/README.md). Implementations: IngestPipeline (the ingest node in this process), and the
// gateway's BulkIngestClient (ingest nodes of other processes, over gRPC, served there by
// BulkIngestService); the gateway's Batcher is one too, merging requests in front of either.

#include <cstdint>
#include <functional>

#include <arrow/status.h>

#include "openwit/ingest.pb.h"

namespace openwit::ingest {

struct SubmitOutcome {
  // OK; CapacityError when the buffer is full or the WAL is failing (retry after retry_after_ms);
  // Invalid for a batch that can never be accepted; Cancelled while stopping.
  arrow::Status status;
  v1::BulkAck ack;
  int64_t retry_after_ms = 0;
};
using SubmitCallback = std::function<void(SubmitOutcome)>;

class IngestSink {
 public:
  virtual ~IngestSink() = default;
  // `done` runs exactly once: OK only after the short WAL write covering the batch returned
  // (fsync'd when processing.wal.sync_on_write), or at once when the batch is refused. It may run
  // on any thread (a WAL thread, a gRPC thread, the caller's) and must not block.
  virtual void Submit(v1::BulkBatch batch, SubmitCallback done) = 0;
};

}  // namespace openwit::ingest
