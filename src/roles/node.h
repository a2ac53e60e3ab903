#pragma once
// One OpenWit process: the roles it runs, the servers they need, start and orderly stop.
// `openwit all` runs every role here; a cluster runs one role (or a few) per process.

#include <memory>
#include <string>
#include <vector>

#include <arrow/status.h>

#include "common/config.h"

namespace openwit {

// Roles in the order they start (downstream first, so an upstream never starts with nowhere to send).
inline const std::vector<std::string>& AllRoles() {
  static const std::vector<std::string> roles = {"control", "storage", "ingest", "indexer",
                                                 "search",  "janitor", "gateway"};
  return roles;
}

// "all" expands to every role; otherwise the names must be known roles.
arrow::Result<std::vector<std::string>> ParseRoles(const std::string& spec);

struct NodeEndpoint {
  std::string name;     // "admin", "control gRPC", ...
  std::string address;  // "http://127.0.0.1:7290/metrics", "127.0.0.1:7000"
  std::string what;     // one line for the start-up banner
};

class Node {
 public:
  Node(Config config, std::vector<std::string> roles);
  ~Node();

  arrow::Status Start();
  void Stop();

  const std::vector<NodeEndpoint>& endpoints() const;
  // Roles that start but have no data path in this build yet (said in logs and /health).
  const std::vector<std::string>& pending_roles() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace openwit
