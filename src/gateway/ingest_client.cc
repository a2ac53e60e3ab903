#include "gateway/ingest_client.h"

#include <grpcpp/grpcpp.h>

#include "common/cluster_token.h"

namespace openwit::gateway {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct BulkIngestClient::Batch {
  ingest::v1::BulkBatch request;
  ingest::SubmitCallback done;
  size_t attempts = 0;
};

BulkIngestClient::BulkIngestClient(const std::vector<std::string>& endpoints, std::chrono::milliseconds timeout,
                                   int max_message_bytes, std::string cluster_token,
                                   std::shared_ptr<MetricsRegistry> metrics, std::chrono::milliseconds unhealthy_for)
    : endpoints_(endpoints),
      cluster_token_(std::move(cluster_token)),
      unhealthy_until_ms_(new std::atomic<int64_t>[endpoints.size()]),
      timeout_(timeout),
      unhealthy_for_(unhealthy_for),
      metrics_(OwnRegistryIfNone(std::move(metrics))),
      failovers_(metrics_->Counter("gateway.ingest.failovers",
                                   "Batches sent to another ingest node because one could not be reached")) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(max_message_bytes);
  // Connections of its own: channels with equal arguments would otherwise share one, and the Kafka
  // source's parallel clients would be one stream.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  for (size_t i = 0; i < endpoints.size(); ++i) {
    unhealthy_until_ms_[i] = 0;
    stubs_.push_back(ingest::v1::BulkIngest::NewStub(
        grpc::CreateCustomChannel(endpoints[i], grpc::InsecureChannelCredentials(), args)));
  }
}

BulkIngestClient::~BulkIngestClient() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return in_flight_ == 0; });  // each call ends by its deadline at the latest
}

size_t BulkIngestClient::PickEndpoint() {
  const size_t n = stubs_.size();
  const size_t first = next_++ % n;
  const int64_t now = NowMs();
  for (size_t k = 0; k < n; ++k) {
    const size_t i = (first + k) % n;
    if (unhealthy_until_ms_[i].load() <= now) return i;
  }
  return first;  // all marked unhealthy: try anyway, one may be back
}

void BulkIngestClient::Submit(ingest::v1::BulkBatch batch, ingest::SubmitCallback done) {
  if (stubs_.empty()) {
    ingest::SubmitOutcome outcome;
    outcome.status = arrow::Status::Invalid("no ingest endpoints configured (ingest.endpoints)");
    return done(std::move(outcome));
  }
  auto b = std::make_shared<Batch>();
  b->request = std::move(batch);
  b->done = std::move(done);
  {
    std::lock_guard lock(mu_);
    ++in_flight_;
  }
  Attempt(std::move(b));
}

void BulkIngestClient::Attempt(std::shared_ptr<Batch> batch) {
  struct Call {
    grpc::ClientContext ctx;
    ingest::v1::BulkAck response;
  };
  const size_t i = PickEndpoint();
  ++batch->attempts;
  auto* call = new Call;
  call->ctx.set_deadline(std::chrono::system_clock::now() + timeout_);
  call->ctx.AddMetadata(kClusterTokenHeader, cluster_token_);
  stubs_[i]->async()->Submit(&call->ctx, &batch->request, &call->response, [this, call, batch, i](grpc::Status s) {
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
      unhealthy_until_ms_[i] = NowMs() + unhealthy_for_.count();
      if (batch->attempts < stubs_.size()) {
        delete call;
        failovers_.Increment();
        return Attempt(batch);  // not delivered: the next node takes it
      }
    }
    ingest::SubmitOutcome outcome;
    outcome.ack = std::move(call->response);
    if (!s.ok()) {
      const std::string message = "ingest node " + endpoints_[i] + ": " + s.error_message();
      switch (s.error_code()) {
        case grpc::StatusCode::RESOURCE_EXHAUSTED: {
          outcome.status = arrow::Status::CapacityError(message);
          outcome.retry_after_ms = 1000;
          const auto& trailers = call->ctx.GetServerTrailingMetadata();
          if (auto it = trailers.find("retry-after-ms"); it != trailers.end()) {
            outcome.retry_after_ms = std::atoll(std::string(it->second.data(), it->second.size()).c_str());
          }
          break;
        }
        case grpc::StatusCode::INVALID_ARGUMENT:
          outcome.status = arrow::Status::Invalid(message);
          break;
        default:
          outcome.status = arrow::Status::IOError(message);
          outcome.retry_after_ms = 1000;
          break;
      }
    }
    delete call;
    batch->done(std::move(outcome));
    std::lock_guard lock(mu_);
    if (--in_flight_ == 0) idle_.notify_all();
  });
}

}  // namespace openwit::gateway
