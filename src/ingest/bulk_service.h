#pragma once
// gRPC adapter of the IngestPipeline: openwit.ingest.v1.BulkIngest (proto/openwit/ingest.proto).
// Callback API: no thread waits for a WAL fsync; the reactor finishes when the pipeline answers.

#include "ingest/ingest_pipeline.h"
#include "openwit/ingest.grpc.pb.h"

namespace openwit::ingest {

// The request is taken raw: its bytes go to the WAL as received (IngestPipeline::SubmitSerialized).
class BulkIngestService final : public v1::BulkIngest::WithRawCallbackMethod_Submit<v1::BulkIngest::Service> {
 public:
  explicit BulkIngestService(IngestPipeline* pipeline) : pipeline_(pipeline) {}
  grpc::ServerUnaryReactor* Submit(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;

 private:
  IngestPipeline* pipeline_;
};

}  // namespace openwit::ingest
