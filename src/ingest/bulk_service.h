#pragma once
// gRPC adapter of the IngestPipeline: openwit.ingest.v1.BulkIngest (proto/openwit/ingest.proto).
// Callback API: no thread waits for a WAL fsync; the reactor finishes when the pipeline answers.

#include "ingest/ingest_pipeline.h"
#include "openwit/ingest.grpc.pb.h"

namespace openwit::ingest {

class BulkIngestService final : public v1::BulkIngest::CallbackService {
 public:
  explicit BulkIngestService(IngestPipeline* pipeline) : pipeline_(pipeline) {}
  grpc::ServerUnaryReactor* Submit(grpc::CallbackServerContext* ctx, const v1::BulkBatch* request,
                                   v1::BulkAck* response) override;

 private:
  IngestPipeline* pipeline_;
};

}  // namespace openwit::ingest
