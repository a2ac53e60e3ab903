#include "search/storage_fresh_source.h"

#include <atomic>
#include <future>

#include <arrow/flight/client.h>
#include <arrow/util/align_util.h>
#include <arrow/util/byte_size.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/cluster_token.h"
#include "search/query_error.h"
#include "storage/fresh_ticket.h"

namespace openwit::search {
namespace {

namespace flight = arrow::flight;

}  // namespace

StorageFreshSource::StorageFreshSource(StorageFreshSourceOptions options)
    : options_(std::move(options)),
      metrics_(OwnRegistryIfNone(options_.metrics)),
      unreachable_(metrics_->Counter("search.fresh.sources_unreachable",
                                     "Storage nodes that did not answer for their unpublished records (the query "
                                     "went on without them)")) {}

arrow::Result<std::shared_ptr<flight::FlightClient>> StorageFreshSource::ClientOf(const std::string& address) {
  std::lock_guard lock(mu_);
  auto& client = clients_[address];
  if (!client) {
    ARROW_ASSIGN_OR_RAISE(auto location, flight::Location::Parse("grpc+tcp://" + address));
    ARROW_ASSIGN_OR_RAISE(auto connected, flight::FlightClient::Connect(location));
    client = std::move(connected);
  }
  return client;
}

void StorageFreshSource::Forget(const std::string& address, const std::shared_ptr<flight::FlightClient>& client) {
  std::lock_guard lock(mu_);
  if (auto it = clients_.find(address); it != clients_.end() && it->second == client) clients_.erase(it);
}

// One storage node's fresh batches; `bytes` is shared by the nodes asked at once.
arrow::Result<std::vector<FreshBatch>> StorageFreshSource::AskNode(const std::string& address,
                                                                   const std::string& ticket,
                                                                   std::atomic<int64_t>* bytes) {
  ARROW_ASSIGN_OR_RAISE(auto client, ClientOf(address));
  flight::FlightCallOptions call;
  call.timeout = flight::TimeoutDuration(std::chrono::duration<double>(options_.timeout).count());
  call.headers.emplace_back(kClusterTokenHeader, options_.cluster_token);
  auto failed = [&](arrow::Status status) {
    Forget(address, client);
    return status;
  };
  auto reader = client->DoGet(call, flight::Ticket{ticket});
  if (!reader.ok()) return failed(reader.status());
  std::vector<FreshBatch> batches;
  while (true) {
    auto chunk = (*reader)->Next();
    if (!chunk.ok()) return failed(chunk.status());
    if (!chunk->data) break;
    if (!chunk->app_metadata || chunk->app_metadata->size() == 0) {
      return arrow::Status::Invalid("storage ", address, " sent a fresh batch without the stem of its file");
    }
    const int64_t size = arrow::util::TotalBufferSize(*chunk->data);
    if (bytes->fetch_add(size) + size > options_.max_bytes) {
      return QueryError(QueryErrorKind::kMemoryLimit,
                        fmt::format("the records not published yet are more than {} MiB (search.memory_limit_mb): "
                                    "narrow the query with start and end, or wait for their publication",
                                    options_.max_bytes >> 20));
    }
    // gRPC hands Flight its message bytes where they landed: a buffer may start at any address, and
    // the engine (and Arrow's own accessors) read 8-byte values from it. Copy only what is misaligned.
    ARROW_ASSIGN_OR_RAISE(auto aligned,
                          arrow::util::EnsureAlignment(std::move(chunk->data), arrow::util::kValueAlignment,
                                                       arrow::default_memory_pool()));
    batches.push_back({chunk->app_metadata->ToString(), std::move(aligned)});
  }
  return batches;
}

arrow::Result<FreshData> StorageFreshSource::Fetch(const std::string& tenant, const std::string& signal) {
  if (options_.endpoints.empty()) return arrow::Status::Invalid("no storage endpoints to ask for fresh records");
  const std::string ticket = storage::FreshTicketJson({tenant, signal});
  std::atomic<int64_t> bytes{0};
  // One node (`all`, or a single storage node) is asked on this thread; more at once.
  std::vector<std::future<arrow::Result<std::vector<FreshBatch>>>> answers;
  for (const auto& address : options_.endpoints) {
    const auto policy = options_.endpoints.size() == 1 ? std::launch::deferred : std::launch::async;
    answers.push_back(std::async(policy, [&, address] { return AskNode(address, ticket, &bytes); }));
  }
  FreshData data;
  arrow::Status too_much;
  for (size_t i = 0; i < answers.size(); ++i) {
    auto answer = answers[i].get();
    if (answer.ok()) {
      for (auto& batch : *answer) data.batches.push_back(std::move(batch));
    } else if (QueryErrorKindOf(answer.status()) == QueryErrorKind::kMemoryLimit) {
      too_much = answer.status();
    } else {
      // A node down or slow: its fresh records are missing from this answer, and the stats say so.
      ++data.sources_unreachable;
      unreachable_.Increment();
      spdlog::warn("search: storage {} did not answer for fresh records of {}/{}: {}", options_.endpoints[i], tenant,
                   signal, answer.status().message());
    }
  }
  if (!too_much.ok()) return too_much;
  return data;
}

}  // namespace openwit::search
