#include "ingest/bulk_service.h"

#include "common/grpc_status.h"

namespace openwit::ingest {

grpc::ServerUnaryReactor* BulkIngestService::Submit(grpc::CallbackServerContext* ctx, const v1::BulkBatch* request,
                                                    v1::BulkAck* response) {
  auto* reactor = ctx->DefaultReactor();
  pipeline_->Submit(*request, [ctx, reactor, response](SubmitOutcome outcome) {
    *response = std::move(outcome.ack);
    if (outcome.retry_after_ms > 0) {
      ctx->AddTrailingMetadata("retry-after-ms", std::to_string(outcome.retry_after_ms));
    }
    reactor->Finish(ToGrpcStatus(outcome.status));
  });
  return reactor;
}

}  // namespace openwit::ingest
