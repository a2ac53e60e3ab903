#pragma once
// FreshSource over Arrow Flight DoGet to the storage nodes (storage/fresh_ticket.h), with the
// cluster token, every node asked at once. A node that does not answer fails no query: it is
// logged, counted (search.fresh.sources_unreachable) and the answer holds what the others sent.
// One Flight client per node serves every query (a gRPC channel is made once, not per query);
// a node that failed gets a new one at the next query.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <arrow/flight/client.h>

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
  // The node's client, connected now if it has none.
  arrow::Result<std::shared_ptr<arrow::flight::FlightClient>> ClientOf(const std::string& address);
  // Forgets a client that failed, unless another took its place already.
  void Forget(const std::string& address, const std::shared_ptr<arrow::flight::FlightClient>& client);
  arrow::Result<std::vector<FreshBatch>> AskNode(const std::string& address, const std::string& ticket,
                                                 std::atomic<int64_t>* bytes);

  const StorageFreshSourceOptions options_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<arrow::flight::FlightClient>> clients_;
  const std::shared_ptr<MetricsRegistry> metrics_;
  prometheus::Counter& unreachable_;
};

}  // namespace openwit::search
