#pragma once
// gRPC adapter of the IngestPipeline: openwit.ingest.v1.BulkIngest (proto/openwit/ingest.proto).
// Callback API: no thread waits for a WAL fsync; the reactor finishes when the pipeline answers.

#include "common/cluster_token.h"
#include "ingest/ingest_pipeline.h"
#include "openwit/ingest.grpc.pb.h"

namespace openwit::ingest {

// The request is taken raw: its bytes go to the WAL as received (IngestPipeline::SubmitSerialized).
// Only the cluster's own gateways may call it: a call without the cluster token is refused
// (UNAUTHENTICATED) before its bytes reach the pipeline.
class BulkIngestService final : public v1::BulkIngest::WithRawCallbackMethod_Submit<v1::BulkIngest::Service> {
 public:
  BulkIngestService(IngestPipeline* pipeline, ClusterToken token) : pipeline_(pipeline), token_(std::move(token)) {}
  grpc::ServerUnaryReactor* Submit(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;

 private:
  IngestPipeline* pipeline_;
  const ClusterToken token_;
};

}  // namespace openwit::ingest
