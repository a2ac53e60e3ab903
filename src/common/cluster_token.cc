#include "common/cluster_token.h"

#include <sys/random.h>

#include <fmt/format.h>

namespace openwit {
bool ConstantTimeEquals(std::string_view presented, std::string_view expected) {
  // Every byte of `expected` is looked at whatever `presented` holds: the time tells nothing
  // about how much of a guess was right.
  unsigned char diff = presented.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    const unsigned char p = i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0;
    diff |= p ^ static_cast<unsigned char>(expected[i]);
  }
  return diff == 0;
}

ClusterToken::ClusterToken(std::string value, bool configured) : value_(std::move(value)), configured_(configured) {}

ClusterToken ClusterToken::Random() {
  unsigned char bytes[32];
  size_t filled = 0;
  while (filled < sizeof(bytes)) {
    ssize_t n = ::getrandom(bytes + filled, sizeof(bytes) - filled, 0);
    if (n > 0) filled += static_cast<size_t>(n);
  }
  std::string hex;
  for (unsigned char b : bytes) hex += fmt::format("{:02x}", b);
  return ClusterToken(std::move(hex), /*configured=*/false);
}

arrow::Result<ClusterToken> ClusterToken::FromConfig(const ClusterConfig& config) {
  if (!config.token.empty()) return ClusterToken(config.token);
  if (config.token_file.empty()) return Random();
  ARROW_ASSIGN_OR_RAISE(auto token, ClusterTokenFromFile(config.token_file));
  return ClusterToken(std::move(token));
}

bool ClusterToken::Admits(std::optional<std::string_view> presented, std::string_view port, std::string* why) const {
  if (presented && ConstantTimeEquals(*presented, value_)) return true;
  const char* reason = presented ? "wrong" : "missing";
  metrics_
      ->Counter("cluster.auth.refused",
                "Calls to an internal port (ingest, flight, control) refused for a missing or wrong cluster token",
                {{"port", std::string(port)}, {"reason", reason}})
      .Increment();
  if (presented) {
    *why = fmt::format(
        "wrong cluster token in {} for the internal {} port: every process of the cluster needs the same "
        "cluster.token (or cluster.token_file)",
        kClusterTokenHeader, port);
  } else {
    *why = fmt::format(
        "the {} port is internal to the OpenWit cluster: calls need the cluster token in the {} header "
        "(cluster.token or cluster.token_file); clients send telemetry to the gateway's OTLP ports",
        port, kClusterTokenHeader);
  }
  return false;
}

grpc::Status CheckClusterToken(const ClusterToken& token, const grpc::ServerContextBase& ctx, std::string_view port) {
  std::optional<std::string_view> presented;
  auto it = ctx.client_metadata().find(kClusterTokenHeader);
  if (it != ctx.client_metadata().end()) presented = std::string_view(it->second.data(), it->second.size());
  std::string why;
  if (token.Admits(presented, port, &why)) return grpc::Status::OK;
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, why);
}

}  // namespace openwit
