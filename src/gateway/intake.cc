#include "gateway/intake.h"

#include <chrono>

#include <google/protobuf/util/json_util.h>

#include "gateway/normalize.h"
#include "otlp/otlp_records.h"

namespace openwit::gateway {

namespace collector = opentelemetry::proto::collector;

Intake::Intake(MetricsRegistry& metrics)
    : received_(metrics.Counter("event.ingest.received", "Records received by the gateway")),
      validated_(metrics.Counter("event.ingest.validated", "Records that passed validation")),
      rejected_(metrics.Counter("event.ingest.rejected", "Records rejected by validation")) {}

Validation Intake::Admit(ingest::v1::BulkBatch* batch) const {
  const uint64_t now = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  Validation v = ValidateRecords(*batch, now);
  const auto total = static_cast<int64_t>(v.rejected.size());
  received_.Increment(static_cast<double>(total));
  validated_.Increment(static_cast<double>(total - v.rejected_records));
  if (v.rejected_records > 0) {
    rejected_.Increment(static_cast<double>(v.rejected_records));
    otlp::RemoveRecords(batch, v.rejected);
  }
  Normalize(batch, now);
  return v;
}

void SetPartialSuccess(const Validation& v, collector::logs::v1::ExportLogsServiceResponse* r) {
  if (v.rejected_records == 0) return;
  r->mutable_partial_success()->set_rejected_log_records(v.rejected_items);
  r->mutable_partial_success()->set_error_message(v.message);
}

void SetPartialSuccess(const Validation& v, collector::trace::v1::ExportTraceServiceResponse* r) {
  if (v.rejected_records == 0) return;
  r->mutable_partial_success()->set_rejected_spans(v.rejected_items);
  r->mutable_partial_success()->set_error_message(v.message);
}

void SetPartialSuccess(const Validation& v, collector::metrics::v1::ExportMetricsServiceResponse* r) {
  if (v.rejected_records == 0) return;
  r->mutable_partial_success()->set_rejected_data_points(v.rejected_items);
  r->mutable_partial_success()->set_error_message(v.message);
}

namespace {
template <class Response>
std::string Body(const Validation& v, bool json) {
  Response r;
  SetPartialSuccess(v, &r);
  if (!json) return r.SerializeAsString();
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(r, &out);
  return out;
}
}  // namespace

std::string ExportResponseBody(ingest::v1::Signal signal, const Validation& v, bool json) {
  switch (signal) {
    case ingest::v1::SIGNAL_TRACES:
      return Body<collector::trace::v1::ExportTraceServiceResponse>(v, json);
    case ingest::v1::SIGNAL_METRICS:
      return Body<collector::metrics::v1::ExportMetricsServiceResponse>(v, json);
    default:
      return Body<collector::logs::v1::ExportLogsServiceResponse>(v, json);
  }
}

}  // namespace openwit::gateway
