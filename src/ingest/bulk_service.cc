#include "ingest/bulk_service.h"

#include <vector>

#include "common/grpc_status.h"

namespace openwit::ingest {

grpc::ServerUnaryReactor* BulkIngestService::Submit(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
                                                    grpc::ByteBuffer* response) {
  auto* reactor = ctx->DefaultReactor();
  std::vector<grpc::Slice> slices;
  if (auto dumped = request->Dump(&slices); !dumped.ok()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INTERNAL, "cannot read the request: " + dumped.error_message()));
    return reactor;
  }
  std::string wire;
  wire.reserve(request->Length());
  for (const auto& slice : slices) wire.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  pipeline_->SubmitSerialized(std::move(wire), [ctx, reactor, response](SubmitOutcome outcome) {
    const std::string ack = outcome.ack.SerializeAsString();
    grpc::Slice slice(ack);
    *response = grpc::ByteBuffer(&slice, 1);
    if (outcome.retry_after_ms > 0) {
      ctx->AddTrailingMetadata("retry-after-ms", std::to_string(outcome.retry_after_ms));
    }
    reactor->Finish(ToGrpcStatus(outcome.status));
  });
  return reactor;
}

}  // namespace openwit::ingest
