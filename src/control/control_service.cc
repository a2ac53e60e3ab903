#include "control/control_service.h"

namespace openwit {

grpc::ServerUnaryReactor* ControlService::Refuse(grpc::CallbackServerContext* ctx) {
  auto allowed = CheckClusterToken(token_, *ctx, "control");
  if (allowed.ok()) return nullptr;
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(allowed);
  return reactor;
}

grpc::ServerUnaryReactor* ControlService::Register(grpc::CallbackServerContext* ctx,
                                                   const control::v1::RegisterRequest* request,
                                                   control::v1::RegisterResponse* response) {
  if (auto* refused = Refuse(ctx)) return refused;
  auto* reactor = ctx->DefaultReactor();
  if (request->node().node_id().empty()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "node.node_id is required"));
    return reactor;
  }
  registry_->Register(request->node());
  response->set_lease_ms(static_cast<uint64_t>(registry_->node_timeout().count()));
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* ControlService::Heartbeat(grpc::CallbackServerContext* ctx,
                                                    const control::v1::HeartbeatRequest* request,
                                                    control::v1::HeartbeatResponse* response) {
  if (auto* refused = Refuse(ctx)) return refused;
  response->set_known(registry_->Heartbeat(request->node_id()));
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* ControlService::ListNodes(grpc::CallbackServerContext* ctx,
                                                    const control::v1::ListNodesRequest* request,
                                                    control::v1::ListNodesResponse* response) {
  if (auto* refused = Refuse(ctx)) return refused;
  for (auto& status : registry_->List(request->role())) *response->add_nodes() = std::move(status);
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace openwit
