#pragma once
// Reads the reference corpus that ../shared/bench/corpus.py writes: logs-NNNNNN.pb files, each one
// OTLP ExportLogsServiceRequest, in order (traces-NNNNNN.pb, ExportTraceServiceRequest, with
// `--signal traces`).

#include <fstream>
#include <iterator>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace openwit::bench {

// Calls fn(std::string bytes, const Request& request) for every `prefix`-NNNNNN.pb of `dir`.
template <class Request, class F>
void ForEachRequest(const std::string& dir, const char* prefix, F&& fn) {
  for (int i = 0;; ++i) {
    std::ifstream in(fmt::format("{}/{}-{:06}.pb", dir, prefix, i), std::ios::binary);
    if (!in) break;
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    Request request;
    if (!request.ParseFromString(bytes)) continue;
    fn(std::move(bytes), request);
  }
}

// Calls fn(std::string bytes, const ExportLogsServiceRequest& request) for every request of `dir`.
template <class F>
void ForEachLogsRequest(const std::string& dir, F&& fn) {
  ForEachRequest<opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest>(dir, "logs", std::forward<F>(fn));
}

// The same for traces-NNNNNN.pb (ExportTraceServiceRequest).
template <class F>
void ForEachTracesRequest(const std::string& dir, F&& fn) {
  ForEachRequest<opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest>(dir, "traces",
                                                                                        std::forward<F>(fn));
}

}  // namespace openwit::bench
