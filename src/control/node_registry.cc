#include "control/node_registry.h"

#include <algorithm>

namespace openwit {
namespace {
int64_t UnixMillisNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

void NodeRegistry::Register(const control::v1::NodeInfo& node, Clock::time_point now) {
  std::lock_guard lock(mu_);
  nodes_[node.node_id()] = Entry{node, now, UnixMillisNow()};
}

bool NodeRegistry::Heartbeat(const std::string& node_id, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return false;
  it->second.last_seen = now;
  it->second.last_seen_unix_ms = UnixMillisNow();
  return true;
}

std::vector<control::v1::NodeStatus> NodeRegistry::List(const std::string& role, Clock::time_point now) const {
  std::vector<control::v1::NodeStatus> out;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, entry] : nodes_) {
      const auto& roles = entry.info.roles();
      if (!role.empty() && std::find(roles.begin(), roles.end(), role) == roles.end()) continue;
      control::v1::NodeStatus status;
      *status.mutable_node() = entry.info;
      status.set_healthy(now - entry.last_seen <= node_timeout_);
      status.set_last_seen_unix_ms(static_cast<uint64_t>(entry.last_seen_unix_ms));
      out.push_back(std::move(status));
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    if (a.healthy() != b.healthy()) return a.healthy();
    return a.node().node_id() < b.node().node_id();
  });
  return out;
}

}  // namespace openwit
