#include "ingest/flight_sender.h"

#include <unordered_map>

#include <arrow/buffer.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/cluster_token.h"

namespace openwit::ingest {

namespace flight = arrow::flight;

const char* SignalName(v1::Signal signal) {
  switch (signal) {
    case v1::SIGNAL_LOGS:
      return "logs";
    case v1::SIGNAL_TRACES:
      return "traces";
    case v1::SIGNAL_METRICS:
      return "metrics";
    default:
      return "unspecified";
  }
}

FlightSender::FlightSender(FlightSenderOptions options)
    : options_(std::move(options)),
      metrics_(OwnRegistryIfNone(options_.metrics)),
      latency_(metrics_->Histogram("arrow.send.latency",
                                   "Seconds to send batches to storage over Flight until storage confirmed them")),
      unhealthy_(metrics_->Counter("arrow.send.endpoint_unhealthy", "Times a storage endpoint was marked unhealthy")) {
  for (const auto& address : options_.endpoints) endpoints_.push_back(Endpoint{address, nullptr, {}, 0});
}

FlightSender::Endpoint& FlightSender::Pick() {
  // Round-robin over healthy endpoints; if none is healthy, the one whose penalty ends first.
  const auto now = Clock::now();
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    Endpoint& e = endpoints_[(next_ + i) % endpoints_.size()];
    if (e.unhealthy_until <= now) {
      next_ = (next_ + i + 1) % endpoints_.size();
      return e;
    }
  }
  return *std::min_element(endpoints_.begin(), endpoints_.end(),
                           [](const Endpoint& a, const Endpoint& b) { return a.unhealthy_until < b.unhealthy_until; });
}

arrow::Status FlightSender::Put(const std::vector<const StoragePut*>& puts,
                                const std::function<void(size_t)>& on_durable) {
  if (puts.empty()) return arrow::Status::OK();
  if (endpoints_.empty()) return arrow::Status::Invalid("no storage endpoints configured (storage.endpoints)");
  std::lock_guard lock(mu_);
  std::vector<bool> confirmed(puts.size(), false);
  arrow::Status last;
  // Failover: each endpoint gets at most one try per call; the caller backs off between calls.
  for (size_t attempt = 0; attempt < endpoints_.size(); ++attempt) {
    Endpoint& endpoint = Pick();
    const auto start = Clock::now();
    last = PutTo(endpoint, puts, on_durable, &confirmed);
    latency_.Observe(std::chrono::duration<double>(Clock::now() - start).count());
    const bool all = std::all_of(confirmed.begin(), confirmed.end(), [](bool c) { return c; });
    if (last.ok() && all) {
      endpoint.failures = 0;
      return arrow::Status::OK();
    }
    if (last.ok()) last = arrow::Status::IOError("storage closed the stream before confirming every batch");
    endpoint.client.reset();
    endpoint.failures = std::min(endpoint.failures + 1, 5);
    endpoint.unhealthy_until = Clock::now() + options_.unhealthy_for * (1 << (endpoint.failures - 1));
    unhealthy_.Increment();
    last = arrow::Status::IOError("storage ", endpoint.address, ": ", last.message());
    spdlog::warn(
        "{} (marked unhealthy for {} ms)", last.message(),
        std::chrono::duration_cast<std::chrono::milliseconds>(endpoint.unhealthy_until - Clock::now()).count());
  }
  return last;
}

arrow::Status FlightSender::PutTo(Endpoint& endpoint, const std::vector<const StoragePut*>& puts,
                                  const std::function<void(size_t)>& on_durable, std::vector<bool>* confirmed) {
  if (!endpoint.client) {
    ARROW_ASSIGN_OR_RAISE(auto location, flight::Location::Parse("grpc+tcp://" + endpoint.address));
    ARROW_ASSIGN_OR_RAISE(endpoint.client, flight::FlightClient::Connect(location));
  }
  flight::FlightCallOptions call;
  call.timeout = flight::TimeoutDuration(std::chrono::duration<double>(options_.timeout).count());
  call.headers.emplace_back(kClusterTokenHeader, options_.cluster_token);
  std::vector<std::string> path = {puts.front()->tenant, SignalName(puts.front()->signal)};
  std::shared_ptr<arrow::Schema> schema;
  std::unordered_map<std::string, size_t> index_of;
  for (size_t i = 0; i < puts.size(); ++i) {
    if (!(*confirmed)[i]) {
      index_of[puts[i]->batch_id] = i;
      if (!schema) schema = puts[i]->batch->schema();
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto put, endpoint.client->DoPut(call, flight::FlightDescriptor::Path(path), schema));
  for (size_t i = 0; i < puts.size(); ++i) {
    if ((*confirmed)[i]) continue;
    ARROW_RETURN_NOT_OK(put.writer->WriteWithMetadata(*puts[i]->batch, arrow::Buffer::FromString(puts[i]->batch_id)));
  }
  ARROW_RETURN_NOT_OK(put.writer->DoneWriting());
  // Storage sends one PutResult per batch once it is durable.
  while (true) {
    std::shared_ptr<arrow::Buffer> metadata;
    ARROW_RETURN_NOT_OK(put.reader->ReadMetadata(&metadata));
    if (!metadata) break;
    auto it = index_of.find(metadata->ToString());
    if (it != index_of.end() && !(*confirmed)[it->second]) {
      (*confirmed)[it->second] = true;
      on_durable(it->second);
    }
  }
  return put.writer->Close();
}

}  // namespace openwit::ingest
