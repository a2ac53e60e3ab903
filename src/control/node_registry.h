#pragma once
// The control plane's view of the cluster: which nodes exist, their roles and endpoints, and
// whether they heartbeat in time. In memory: nodes register again after a control restart.

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "openwit/control.pb.h"

namespace openwit {

class NodeRegistry {
 public:
  using Clock = std::chrono::steady_clock;
  explicit NodeRegistry(std::chrono::milliseconds node_timeout) : node_timeout_(node_timeout) {}

  void Register(const control::v1::NodeInfo& node, Clock::time_point now = Clock::now());
  // false when the node is unknown and must register again.
  bool Heartbeat(const std::string& node_id, Clock::time_point now = Clock::now());
  // Nodes with `role` (every node when empty), healthy ones first, each in id order.
  std::vector<control::v1::NodeStatus> List(const std::string& role, Clock::time_point now = Clock::now()) const;
  std::chrono::milliseconds node_timeout() const { return node_timeout_; }

 private:
  struct Entry {
    control::v1::NodeInfo info;
    Clock::time_point last_seen;
    int64_t last_seen_unix_ms;
  };
  const std::chrono::milliseconds node_timeout_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> nodes_;
};

}  // namespace openwit
