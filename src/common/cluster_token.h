#pragma once
// The cluster token: the shared secret that lets the cluster's own nodes, and nobody else, call the
// internal ports (bulk ingest, Arrow Flight, control). Every internal client sends it on every call
// in the `x-openwit-cluster-token` header (gRPC metadata, Flight call header); every internal
// server compares it in constant time and refuses a call without it, or with another one, with
// UNAUTHENTICATED, counted in `cluster.auth.refused{port,reason}`. Without it, anyone who reaches
// the ingest port would write any tenant's data past the gateway's auth, quotas and validation,
// and anyone who reaches the Flight port would write the lake.
//
// Where it comes from (cluster.token, cluster.token_file, else a random one per process) and when
// a process refuses to start without one: roles/node.cc and README "Closed doors".

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <arrow/result.h>
#include <grpcpp/grpcpp.h>

#include "common/config.h"
#include "common/metrics.h"

namespace openwit {

inline constexpr const char* kClusterTokenHeader = "x-openwit-cluster-token";

class ClusterToken {
 public:
  // cluster.token, else the first line of cluster.token_file (surrounding blanks dropped); with
  // neither, a random token made now that only this process knows (configured() is false).
  static arrow::Result<ClusterToken> FromConfig(const ClusterConfig& config);
  static ClusterToken Random();

  explicit ClusterToken(std::string value, bool configured = true);

  const std::string& value() const { return value_; }
  // False for a random token: other processes cannot know it.
  bool configured() const { return configured_; }
  // Where refusals are counted from now on, by this token and its copies made after: the node's
  // registry. Until then, a registry of the token's own.
  void CountRefusalsIn(std::shared_ptr<MetricsRegistry> metrics) { metrics_ = std::move(metrics); }

  // Whether `presented` (nullopt: no header) is this token, compared in constant time (the time
  // depends on this token's length only). A refusal is counted under `port` ("ingest", "flight",
  // "control") and `why` says what was wrong, for the caller's UNAUTHENTICATED answer.
  bool Admits(std::optional<std::string_view> presented, std::string_view port, std::string* why) const;

 private:
  std::string value_;
  bool configured_;
  std::shared_ptr<MetricsRegistry> metrics_ = std::make_shared<MetricsRegistry>();
};

// Constant-time equality in the length of `expected`.
bool ConstantTimeEquals(std::string_view presented, std::string_view expected);

// For the internal gRPC services: OK when the call's metadata carries the token, else
// UNAUTHENTICATED with a message that says which header and which config key.
grpc::Status CheckClusterToken(const ClusterToken& token, const grpc::ServerContextBase& ctx, std::string_view port);

}  // namespace openwit
