#pragma once
// gRPC adapter of the NodeRegistry: openwit.control.v1.Control (proto/openwit/control.proto).

#include "control/node_registry.h"
#include "openwit/control.grpc.pb.h"

namespace openwit {

class ControlService final : public control::v1::Control::CallbackService {
 public:
  explicit ControlService(NodeRegistry* registry) : registry_(registry) {}

  grpc::ServerUnaryReactor* Register(grpc::CallbackServerContext* ctx, const control::v1::RegisterRequest* request,
                                     control::v1::RegisterResponse* response) override;
  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* ctx, const control::v1::HeartbeatRequest* request,
                                      control::v1::HeartbeatResponse* response) override;
  grpc::ServerUnaryReactor* ListNodes(grpc::CallbackServerContext* ctx, const control::v1::ListNodesRequest* request,
                                      control::v1::ListNodesResponse* response) override;

 private:
  NodeRegistry* registry_;
};

}  // namespace openwit
