#pragma once
// Reads the reference corpus that ../shared/bench/corpus.py writes: logs-NNNNNN.pb files, each one
// OTLP ExportLogsServiceRequest, in order.

#include <fstream>
#include <iterator>
#include <string>

#include <fmt/format.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"

namespace openwit::bench {

// Calls fn(std::string bytes, const ExportLogsServiceRequest& request) for every request of `dir`.
template <class F>
void ForEachLogsRequest(const std::string& dir, F&& fn) {
  for (int i = 0;; ++i) {
    std::ifstream in(fmt::format("{}/logs-{:06}.pb", dir, i), std::ios::binary);
    if (!in) break;
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest request;
    if (!request.ParseFromString(bytes)) continue;
    fn(std::move(bytes), request);
  }
}

}  // namespace openwit::bench
