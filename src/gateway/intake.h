#pragma once
// What both OTLP receivers do with a decoded request before the ingest node sees it: validate
// every record, drop the rejected ones (counted, each named in the answer), and build the OTLP
// Export response with its partial success.

#include <memory>
#include <string>

#include "common/metrics.h"
#include "gateway/validate.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "openwit/ingest.pb.h"

namespace openwit::gateway {

// Where every source's records are admitted; counts event.ingest.received, event.ingest.validated
// and event.ingest.rejected in the registry it is given.
class Intake {
 public:
  explicit Intake(MetricsRegistry& metrics);
  // Validates and removes rejected records from `batch`, normalizes the rest (normalize.h).
  Validation Admit(ingest::v1::BulkBatch* batch) const;

 private:
  prometheus::Counter& received_;
  prometheus::Counter& validated_;
  prometheus::Counter& rejected_;
};

// Fills an Export response's partial_success (nothing when no record was rejected).
void SetPartialSuccess(const Validation& v, opentelemetry::proto::collector::logs::v1::ExportLogsServiceResponse* r);
void SetPartialSuccess(const Validation& v, opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse* r);
void SetPartialSuccess(const Validation& v,
                       opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceResponse* r);

// The Export response of `signal` as OTLP/HTTP sends it: protobuf bytes, or OTLP JSON.
std::string ExportResponseBody(ingest::v1::Signal signal, const Validation& v, bool json);

}  // namespace openwit::gateway
