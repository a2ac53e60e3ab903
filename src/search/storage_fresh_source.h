#pragma once
// FreshSource over Arrow Flight DoGet to the storage nodes (storage/fresh_ticket.h), with the
// cluster token, every node asked at once. A node that does not answer fails no query: it is
// logged, counted (search.fresh.sources_unreachable) and the answer holds what the others sent.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "search/fresh_source.h"

namespace openwit::search {

struct StorageFreshSourceOptions {
  std::vector<std::string> endpoints;        // host:port of every storage node (storage.endpoints)
  std::string cluster_token;                 // x-openwit-cluster-token: storage refuses calls without it
  std::chrono::milliseconds timeout{10000};  // per node
  int64_t max_bytes = 512ll << 20;           // fresh data of one fetch at most (search.memory_limit_mb)
  // Where it reports: the node's registry; null: a registry of its own.
  std::shared_ptr<MetricsRegistry> metrics = nullptr;
};

class StorageFreshSource final : public FreshSource {
 public:
  explicit StorageFreshSource(StorageFreshSourceOptions options);
  // More than max_bytes of fresh data: QueryErrorKind::kMemoryLimit.
  arrow::Result<FreshData> Fetch(const std::string& tenant, const std::string& signal) override;

 private:
  const StorageFreshSourceOptions options_;
  const std::shared_ptr<MetricsRegistry> metrics_;
  prometheus::Counter& unreachable_;
};

}  // namespace openwit::search
