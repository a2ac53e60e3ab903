#include "ingest/bulk_service.h"

#include "common/grpc_status.h"

namespace openwit::ingest {

grpc::ServerUnaryReactor* BulkIngestService::Submit(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
                                                    grpc::ByteBuffer* response) {
  auto* reactor = ctx->DefaultReactor();
  if (auto allowed = CheckClusterToken(token_, *ctx, "ingest"); !allowed.ok()) {
    reactor->Finish(allowed);
    return reactor;
  }
  std::string wire;
  if (auto read = ReadRawRequest(*request, &wire); !read.ok()) {
    reactor->Finish(read);
    return reactor;
  }
  pipeline_->SubmitSerialized(std::move(wire), [ctx, reactor, response](SubmitOutcome outcome) {
    *response = RawResponse(outcome.ack.SerializeAsString());
    if (outcome.retry_after_ms > 0) {
      ctx->AddTrailingMetadata("retry-after-ms", std::to_string(outcome.retry_after_ms));
    }
    reactor->Finish(ToGrpcStatus(outcome.status));
  });
  return reactor;
}

}  // namespace openwit::ingest
