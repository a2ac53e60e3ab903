#include "gateway/ingest_client.h"

#include <grpcpp/grpcpp.h>

namespace openwit::gateway {

BulkIngestClient::BulkIngestClient(const std::vector<std::string>& endpoints, std::chrono::milliseconds timeout,
                                   int max_message_bytes)
    : endpoints_(endpoints), timeout_(timeout) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(max_message_bytes);
  for (const auto& e : endpoints) {
    stubs_.push_back(
        ingest::v1::BulkIngest::NewStub(grpc::CreateCustomChannel(e, grpc::InsecureChannelCredentials(), args)));
  }
}

void BulkIngestClient::Submit(ingest::v1::BulkBatch batch, ingest::SubmitCallback done) {
  struct Call {
    grpc::ClientContext ctx;
    ingest::v1::BulkBatch request;
    ingest::v1::BulkAck response;
  };
  if (stubs_.empty()) {
    ingest::SubmitOutcome outcome;
    outcome.status = arrow::Status::Invalid("no ingest endpoints configured (ingest.endpoints)");
    return done(std::move(outcome));
  }
  const size_t i = next_++ % stubs_.size();
  auto* call = new Call;
  call->request = std::move(batch);
  call->ctx.set_deadline(std::chrono::system_clock::now() + timeout_);
  stubs_[i]->async()->Submit(
      &call->ctx, &call->request, &call->response, [call, done, endpoint = endpoints_[i]](grpc::Status s) {
        ingest::SubmitOutcome outcome;
        outcome.ack = std::move(call->response);
        if (!s.ok()) {
          const std::string message = "ingest node " + endpoint + ": " + s.error_message();
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
        done(std::move(outcome));
      });
}

}  // namespace openwit::gateway
