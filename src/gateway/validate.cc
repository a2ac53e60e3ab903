#include "gateway/validate.h"

#include <fmt/format.h>

#include "otlp/otlp_records.h"

namespace openwit::gateway {
namespace {

namespace common = opentelemetry::proto::common::v1;
namespace logs = opentelemetry::proto::logs::v1;
namespace trace = opentelemetry::proto::trace::v1;
namespace metrics = opentelemetry::proto::metrics::v1;

constexpr uint64_t kDayNanos = 86400ull * 1000000000ull;
constexpr int kMessagesShown = 3;

// Each check returns "" or what is wrong, naming the field within the record.
std::string IdLength(const std::string& id, size_t want, const char* field, bool required) {
  if (id.empty() && !required) return "";
  if (id.size() == want) return "";
  return fmt::format("{}: {} bytes, expected {}", field, id.size(), want);
}

std::string Future(uint64_t t, uint64_t now, const char* field) {
  if (t > now + kDayNanos) return fmt::format("{}: {} is more than a day in the future", field, t);
  return "";
}

std::string Check(const logs::LogRecord& r, uint64_t now) {
  for (auto s : {IdLength(r.trace_id(), 16, "trace_id", false), IdLength(r.span_id(), 8, "span_id", false),
                 Future(r.time_unix_nano(), now, "time_unix_nano")}) {
    if (!s.empty()) return s;
  }
  return "";
}

std::string Check(const trace::Span& s, uint64_t now) {
  for (auto e : {IdLength(s.trace_id(), 16, "trace_id", true), IdLength(s.span_id(), 8, "span_id", true),
                 IdLength(s.parent_span_id(), 8, "parent_span_id", false),
                 Future(s.start_time_unix_nano(), now, "start_time_unix_nano")}) {
    if (!e.empty()) return e;
  }
  if (s.name().empty()) return "name: empty";
  if (s.end_time_unix_nano() < s.start_time_unix_nano()) {
    return fmt::format("end_time_unix_nano: {} is before start_time_unix_nano {}", s.end_time_unix_nano(),
                       s.start_time_unix_nano());
  }
  for (int i = 0; i < s.links_size(); ++i) {
    for (auto e :
         {IdLength(s.links(i).trace_id(), 16, "trace_id", true), IdLength(s.links(i).span_id(), 8, "span_id", true)}) {
      if (!e.empty()) return fmt::format("links[{}].{}", i, e);
    }
  }
  return "";
}

template <class Points>
std::string CheckExemplars(const Points& points) {
  for (int p = 0; p < points.size(); ++p) {
    for (int x = 0; x < points[p].exemplars_size(); ++x) {
      const auto& e = points[p].exemplars(x);
      for (auto err : {IdLength(e.trace_id(), 16, "trace_id", false), IdLength(e.span_id(), 8, "span_id", false)}) {
        if (!err.empty()) return fmt::format("data_points[{}].exemplars[{}].{}", p, x, err);
      }
    }
  }
  return "";
}

std::string Check(const metrics::Metric& m, uint64_t) {
  if (m.name().empty()) return "name: empty";
  switch (m.data_case()) {
    case metrics::Metric::kGauge:
      return CheckExemplars(m.gauge().data_points());
    case metrics::Metric::kSum:
      return CheckExemplars(m.sum().data_points());
    case metrics::Metric::kHistogram:
      return CheckExemplars(m.histogram().data_points());
    case metrics::Metric::kExponentialHistogram:
      return CheckExemplars(m.exponential_histogram().data_points());
    default:
      return "";
  }
}

int64_t Items(const logs::LogRecord&) { return 1; }
int64_t Items(const trace::Span&) { return 1; }
int64_t Items(const metrics::Metric& m) { return otlp::MetricDataPoints(m); }

const char* RecordField(ingest::v1::Signal s) {
  return s == ingest::v1::SIGNAL_LOGS     ? "scope_logs[{}].log_records[{}]"
         : s == ingest::v1::SIGNAL_TRACES ? "scope_spans[{}].spans[{}]"
                                          : "scope_metrics[{}].metrics[{}]";
}

const char* ResourceField(ingest::v1::Signal s) {
  return s == ingest::v1::SIGNAL_LOGS     ? "resource_logs"
         : s == ingest::v1::SIGNAL_TRACES ? "resource_spans"
                                          : "resource_metrics";
}

}  // namespace

Validation ValidateRecords(const ingest::v1::BulkBatch& batch, uint64_t now_unix_nano) {
  Validation v;
  std::vector<std::string> problems;
  otlp::ForEachRecord(batch, [&](const otlp::RecordPosition& at, const auto&, const auto&, const auto& rec) {
    std::string problem = Check(rec, now_unix_nano);
    v.rejected.push_back(!problem.empty());
    if (problem.empty()) return;
    ++v.rejected_records;
    v.rejected_items += Items(rec);
    if (problems.size() < kMessagesShown) {
      problems.push_back(fmt::format("{}[{}].{}.{}", ResourceField(batch.signal()), at.resource,
                                     fmt::format(fmt::runtime(RecordField(batch.signal())), at.scope, at.record),
                                     problem));
    }
  });
  for (size_t i = 0; i < problems.size(); ++i) v.message += (i ? "; " : "") + problems[i];
  if (v.rejected_records > static_cast<int64_t>(problems.size())) {
    v.message += fmt::format(" (and {} more)", v.rejected_records - static_cast<int64_t>(problems.size()));
  }
  return v;
}

}  // namespace openwit::gateway
