#pragma once
// gRPC adapter of the NodeRegistry: openwit.control.v1.Control (proto/openwit/control.proto).
// Every method answers the cluster's own nodes only (the cluster token), so nobody else can
// register a node or read the member list.

#include "common/cluster_token.h"
#include "control/node_registry.h"
#include "openwit/control.grpc.pb.h"

namespace openwit {

class ControlService final : public control::v1::Control::CallbackService {
 public:
  ControlService(NodeRegistry* registry, ClusterToken token) : registry_(registry), token_(std::move(token)) {}

  grpc::ServerUnaryReactor* Register(grpc::CallbackServerContext* ctx, const control::v1::RegisterRequest* request,
                                     control::v1::RegisterResponse* response) override;
  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* ctx, const control::v1::HeartbeatRequest* request,
                                      control::v1::HeartbeatResponse* response) override;
  grpc::ServerUnaryReactor* ListNodes(grpc::CallbackServerContext* ctx, const control::v1::ListNodesRequest* request,
                                      control::v1::ListNodesResponse* response) override;

 private:
  // nullptr when the call carries the cluster token, else the reactor that refused it.
  grpc::ServerUnaryReactor* Refuse(grpc::CallbackServerContext* ctx);

  NodeRegistry* registry_;
  const ClusterToken token_;
};

}  // namespace openwit
