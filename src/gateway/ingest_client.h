#pragma once
// The gateway's client of the ingest nodes' BulkIngest service (ingest.endpoints), round-robin,
// asynchronous: the caller's callback runs when the ingest node answers. gRPC status codes map
// back to the pipeline's outcomes (RESOURCE_EXHAUSTED -> CapacityError with its retry hint).

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "ingest/ingest_pipeline.h"
#include "openwit/ingest.grpc.pb.h"

namespace openwit::gateway {

class BulkIngestClient {
 public:
  BulkIngestClient(const std::vector<std::string>& endpoints, std::chrono::milliseconds timeout, int max_message_bytes);
  void Submit(ingest::v1::BulkBatch batch, ingest::SubmitCallback done);

 private:
  std::vector<std::unique_ptr<ingest::v1::BulkIngest::Stub>> stubs_;
  std::vector<std::string> endpoints_;
  std::chrono::milliseconds timeout_;
  std::atomic<size_t> next_{0};
};

}  // namespace openwit::gateway
