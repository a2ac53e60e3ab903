#include "search/jaeger_api.h"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "search/arrow_cells.h"
#include "search/compat_api.h"
#include "search/query_error.h"
#include "search/trace_view.h"

namespace openwit::search {
namespace {

namespace otlp = opentelemetry::proto;
using nlohmann::json;

constexpr int64_t kNanosPerMicro = 1000;

constexpr int64_t kNanosPerHour = int64_t{3600} * 1000000000;
constexpr int64_t kDefaultTraceLimit = 100;  // jaeger-query's
constexpr int64_t kMaxNames = 10000;         // services or operations listed at most
// A process without service.name, as OpenTelemetry's Jaeger translator names it.
constexpr const char* kNoServiceName = "OTLPResourceNoServiceName";

std::string Dump(const json& body) { return body.dump(-1, ' ', false, json::error_handler_t::replace); }

// Jaeger's envelope (jaeger-query's structuredResponse) around `data`.
HttpResponse Answer(json data, int64_t total = 0) {
  return HttpResponse::Json(
      200, Dump({{"data", std::move(data)}, {"total", total}, {"limit", 0}, {"offset", 0}, {"errors", nullptr}}));
}

HttpResponse Error(int code, const std::string& message) {
  json errors = json::array();
  errors.push_back({{"code", code}, {"msg", message}});
  HttpResponse r = HttpResponse::Json(
      code, Dump({{"data", nullptr}, {"total", 0}, {"limit", 0}, {"offset", 0}, {"errors", std::move(errors)}}));
  if (code == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

// A failed query: its QueryErrorKind's status code.
HttpResponse Error(const arrow::Status& status) {
  return Error(HttpStatusOf(QueryErrorKindOf(status)), status.message());
}

// Jaeger's times and durations are microseconds.
int64_t Micros(uint64_t nanos) { return static_cast<int64_t>(nanos / kNanosPerMicro); }

std::string Parameter(const std::map<std::string, std::string>& parameters, const char* name) {
  auto it = parameters.find(name);
  return it == parameters.end() ? std::string() : it->second;
}

// Jaeger's start and end: Unix microseconds.
arrow::Result<TimeRange> ParseMicrosRange(const std::map<std::string, std::string>& parameters) {
  return ParseTimeRange(parameters, kNanosPerMicro, "microseconds");
}

// ---- the Jaeger model -----------------------------------------------------------------------

json Tag(const std::string& key, const std::string& value) {
  return {{"key", key}, {"type", "string"}, {"value", value}};
}

// Attributes as tags; every value is text in the lake (trace_view.h).
void AppendTags(const google::protobuf::RepeatedPtrField<otlp::common::v1::KeyValue>& attributes, json* tags,
                const char* except = nullptr) {
  for (const auto& kv : attributes) {
    if (except == nullptr || kv.key() != except) tags->push_back(Tag(kv.key(), kv.value().string_value()));
  }
}

json Process(const otlp::resource::v1::Resource& resource) {
  std::string service = kNoServiceName;
  for (const auto& kv : resource.attributes()) {
    if (kv.key() == "service.name") service = kv.value().string_value();
  }
  json tags = json::array();
  AppendTags(resource.attributes(), &tags, "service.name");
  return {{"serviceName", service}, {"tags", std::move(tags)}};
}

const char* KindTag(otlp::trace::v1::Span::SpanKind kind) {
  switch (kind) {
    case otlp::trace::v1::Span::SPAN_KIND_SERVER:
      return "server";
    case otlp::trace::v1::Span::SPAN_KIND_CLIENT:
      return "client";
    case otlp::trace::v1::Span::SPAN_KIND_PRODUCER:
      return "producer";
    case otlp::trace::v1::Span::SPAN_KIND_CONSUMER:
      return "consumer";
    case otlp::trace::v1::Span::SPAN_KIND_INTERNAL:
      return "internal";
    default:
      return nullptr;
  }
}

json Reference(const char* type, const std::string& trace_id, const std::string& span_id) {
  return {{"refType", type}, {"traceID", Hex(trace_id)}, {"spanID", Hex(span_id)}};
}

// A link is FOLLOWS_FROM unless it says otherwise (OpenTracing's ref type, as the translator reads it).
const char* LinkType(const otlp::trace::v1::Span::Link& link) {
  for (const auto& kv : link.attributes()) {
    if (kv.key() == "opentracing.ref_type" && kv.value().string_value() == "child_of") return "CHILD_OF";
  }
  return "FOLLOWS_FROM";
}

// One span in Jaeger's model, tags in the order of OpenTelemetry's Jaeger translator.
json Span(const otlp::trace::v1::Span& span, const otlp::common::v1::InstrumentationScope& scope,
          const std::string& process_id) {
  json tags = json::array();
  if (!scope.name().empty()) tags.push_back(Tag("otel.scope.name", scope.name()));
  if (!scope.version().empty()) tags.push_back(Tag("otel.scope.version", scope.version()));
  AppendTags(span.attributes(), &tags);
  if (const char* kind = KindTag(span.kind())) tags.push_back(Tag("span.kind", kind));
  if (span.status().code() == otlp::trace::v1::Status::STATUS_CODE_OK) tags.push_back(Tag("otel.status_code", "OK"));
  if (span.status().code() == otlp::trace::v1::Status::STATUS_CODE_ERROR) {
    tags.push_back(Tag("otel.status_code", "ERROR"));
    tags.push_back({{"key", "error"}, {"type", "bool"}, {"value", true}});
  }
  if (!span.status().message().empty()) tags.push_back(Tag("otel.status_description", span.status().message()));
  if (!span.trace_state().empty()) tags.push_back(Tag("w3c.tracestate", span.trace_state()));

  // The parent first: clients take the first CHILD_OF for it.
  json references = json::array();
  if (!span.parent_span_id().empty())
    references.push_back(Reference("CHILD_OF", span.trace_id(), span.parent_span_id()));
  for (const auto& link : span.links()) {
    if (link.span_id().empty()) continue;  // Jaeger has no reference without a span
    if (link.trace_id() == span.trace_id() && link.span_id() == span.parent_span_id()) {
      references[0]["refType"] = LinkType(link);
      continue;
    }
    references.push_back(Reference(LinkType(link), link.trace_id(), link.span_id()));
  }

  json logs = json::array();
  for (const auto& event : span.events()) {
    json fields = json::array();
    const bool named = std::any_of(event.attributes().begin(), event.attributes().end(),
                                   [](const auto& kv) { return kv.key() == "event"; });
    if (!event.name().empty() && !named) fields.push_back(Tag("event", event.name()));
    AppendTags(event.attributes(), &fields);
    logs.push_back({{"timestamp", Micros(event.time_unix_nano())}, {"fields", std::move(fields)}});
  }
  const uint64_t start = span.start_time_unix_nano();
  const uint64_t end = std::max(span.end_time_unix_nano(), start);
  return {{"traceID", Hex(span.trace_id())},
          {"spanID", Hex(span.span_id())},
          {"operationName", span.name()},
          {"references", std::move(references)},
          {"startTime", Micros(start)},
          {"duration", Micros(end - start)},
          {"tags", std::move(tags)},
          {"logs", std::move(logs)},
          {"processID", process_id},
          {"warnings", nullptr},
          {"flags", 0}};
}

// The traces of `data` in Jaeger's model, in the order of `trace_ids` (their bytes); an id without
// spans in `data` is left out. A trace's spans are in order of start time; each distinct resource
// is one process (p1, p2, ... in order of first use).
json JaegerTraces(const otlp::trace::v1::TracesData& data, const std::vector<std::string>& trace_ids) {
  struct Located {
    const otlp::trace::v1::ResourceSpans* resource;
    const otlp::trace::v1::ScopeSpans* scope;
    const otlp::trace::v1::Span* span;
  };
  std::map<std::string, std::vector<Located>> by_trace;
  for (const auto& resource : data.resource_spans()) {
    for (const auto& scope : resource.scope_spans()) {
      for (const auto& span : scope.spans()) by_trace[span.trace_id()].push_back({&resource, &scope, &span});
    }
  }
  json traces = json::array();
  for (const auto& id : trace_ids) {
    auto found = by_trace.find(id);
    if (found == by_trace.end()) continue;
    auto& spans = found->second;
    // TraceFromRows grouped the rows by resource; back to the rows' order.
    std::stable_sort(spans.begin(), spans.end(), [](const Located& a, const Located& b) {
      if (a.span->start_time_unix_nano() != b.span->start_time_unix_nano()) {
        return a.span->start_time_unix_nano() < b.span->start_time_unix_nano();
      }
      return a.span->span_id() < b.span->span_id();
    });
    std::map<const otlp::trace::v1::ResourceSpans*, std::string> process_ids;
    json processes = json::object();
    json jaeger_spans = json::array();
    for (const auto& s : spans) {
      std::string& process_id = process_ids[s.resource];
      if (process_id.empty()) {
        process_id = "p" + std::to_string(process_ids.size());
        processes[process_id] = Process(s.resource->resource());
      }
      jaeger_spans.push_back(Span(*s.span, s.scope->scope(), process_id));
    }
    traces.push_back({{"traceID", Hex(id)},
                      {"spans", std::move(jaeger_spans)},
                      {"processes", std::move(processes)},
                      {"warnings", nullptr}});
  }
  return traces;
}

// The traces of `rows` (kTraceColumns) as Jaeger's, in the order of `trace_ids`. Rows cut at
// search.max_result_rows leave the last trace incomplete: a warning on it says so.
arrow::Result<json> TracesOfRows(const QueryResult& result, const std::vector<std::string>& trace_ids,
                                 int64_t max_rows) {
  ARROW_ASSIGN_OR_RAISE(auto data, TraceFromRows(result.rows));
  json traces = JaegerTraces(data, trace_ids);
  if (result.rows.truncated && !traces.empty()) {
    traces.back()["warnings"] = json::array(
        {fmt::format("incomplete: more spans than search.max_result_rows ({}) were found for this answer", max_rows)});
  }
  return traces;
}

HttpResponse TracesAnswer(const QueryResult& result, json traces) {
  HttpResponse response = Answer(std::move(traces));
  response.headers.emplace_back("X-OpenWit-Truncated", result.rows.truncated ? "true" : "false");
  return response;
}

// ---- endpoints ------------------------------------------------------------------------------

HttpResponse Services(QueryEngine* engine, const std::string& tenant, const HttpRequest&) {
  auto result = RunInRange(engine, tenant,
                           fmt::format("SELECT DISTINCT ServiceName FROM spans WHERE ServiceName IS NOT NULL AND "
                                       "ServiceName <> '' ORDER BY 1 LIMIT {}",
                                       kMaxNames),
                           TimeRange{});
  if (!result.ok()) return Error(result.status());
  auto names = ColumnText(result->rows, 0);
  const auto total = static_cast<int64_t>(names.size());
  return Answer(std::move(names), total);
}

// The distinct (operation, span kind) of a service, the kind as Jaeger writes it ("" when unset);
// only of `kind` unless it is empty.
arrow::Result<std::vector<std::pair<std::string, std::string>>> RunOperations(QueryEngine* engine,
                                                                              const std::string& tenant,
                                                                              const std::string& service,
                                                                              const std::string& kind) {
  std::string where = "ServiceName = " + SqlString(service);
  if (!kind.empty()) where += " AND lower(SpanKind) = " + SqlString(kind);
  ARROW_ASSIGN_OR_RAISE(
      auto result, RunInRange(engine, tenant,
                              fmt::format("SELECT DISTINCT SpanName, lower(SpanKind) FROM spans WHERE {} AND SpanName "
                                          "IS NOT NULL ORDER BY 1, 2 LIMIT {}",
                                          where, kMaxNames),
                              TimeRange{}));
  const auto names = ColumnText(result.rows, 0);
  const auto kinds = ColumnText(result.rows, 1);
  std::vector<std::pair<std::string, std::string>> operations;
  for (size_t i = 0; i < names.size(); ++i) {
    operations.emplace_back(names[i], kinds[i] == "unspecified" ? "" : kinds[i]);
  }
  return operations;
}

// GET /jaeger/api/services/{service}/operations
HttpResponse ServiceOperations(QueryEngine* engine, const std::string& tenant, const HttpRequest& request) {
  constexpr std::string_view kPrefix = "/jaeger/api/services/", kSuffix = "/operations";
  std::string_view rest = std::string_view(request.path).substr(kPrefix.size());
  if (rest.size() <= kSuffix.size() || rest.substr(rest.size() - kSuffix.size()) != kSuffix) {
    return Error(404, "no such endpoint: " + request.path);
  }
  auto operations = RunOperations(engine, tenant, PercentDecoded(rest.substr(0, rest.size() - kSuffix.size())), "");
  if (!operations.ok()) return Error(operations.status());
  std::vector<std::string> names;
  for (const auto& [name, kind] : *operations) {
    if (names.empty() || names.back() != name) names.push_back(name);  // sorted by name: one per kind
  }
  const auto total = static_cast<int64_t>(names.size());
  return Answer(std::move(names), total);
}

// GET /jaeger/api/operations?service=&spanKind=
HttpResponse Operations(QueryEngine* engine, const std::string& tenant, const HttpRequest& request) {
  const auto parameters = QueryParameters(request.target);
  const std::string service = Parameter(parameters, "service");
  if (service.empty()) return Error(400, "parameter 'service' is required");
  const std::string kind = Parameter(parameters, "spanKind");
  static const std::vector<std::string> kKinds = {"", "server", "client", "producer", "consumer", "internal"};
  if (std::find(kKinds.begin(), kKinds.end(), kind) == kKinds.end()) {
    return Error(400, fmt::format("parameter 'spanKind': \"{}\" is none of server, client, producer, consumer, "
                                  "internal",
                                  kind));
  }
  auto operations = RunOperations(engine, tenant, service, kind);
  if (!operations.ok()) return Error(operations.status());
  json data = json::array();
  for (const auto& [name, span_kind] : *operations) data.push_back({{"name", name}, {"spanKind", span_kind}});
  const auto total = static_cast<int64_t>(data.size());
  return Answer(std::move(data), total);
}

// The condition a span meets for the tag key=value: the tags Jaeger's model derives from columns
// (Span() above) match those columns, and any tag matches an attribute of that key.
std::string TagCondition(const std::string& key, const std::string& value) {
  std::string derived;
  if (key == "span.kind") {
    derived = "lower(SpanKind) = lower(" + SqlString(value) + ")";
  } else if (key == "otel.status_code") {
    derived = "upper(StatusCode) = upper(" + SqlString(value) + ")";
  } else if (key == "error" && value == "true") {
    derived = "StatusCode = 'Error'";
  } else if (key == "otel.status_description") {
    derived = "StatusMessage = " + SqlString(value);
  } else if (key == "otel.scope.name" || key == "otel.library.name") {
    derived = "ScopeName = " + SqlString(value);
  } else if (key == "otel.scope.version" || key == "otel.library.version") {
    derived = "ScopeVersion = " + SqlString(value);
  } else if (key == "w3c.tracestate") {
    derived = "TraceState = " + SqlString(value);
  }
  const std::string attribute = AttributeCondition(key, value);
  return derived.empty() ? attribute : "(" + derived + " OR " + attribute + ")";
}

// The tags= parameter: a JSON object of values ({"http.status_code": "500"}); numbers and booleans
// are taken as their text, which is how the lake keeps them.
arrow::Result<std::vector<std::pair<std::string, std::string>>> ParseTags(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> tags;
  if (text.empty()) return tags;
  const json object = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded() || !object.is_object()) {
    return arrow::Status::Invalid("parameter 'tags' must be a JSON object, as {\"http.status_code\":\"500\"}");
  }
  for (const auto& [key, value] : object.items()) {
    if (value.is_string()) {
      tags.emplace_back(key, value.get<std::string>());
    } else if (value.is_number() || value.is_boolean()) {
      tags.emplace_back(key, value.dump());
    } else {
      return arrow::Status::Invalid("parameter 'tags': the value of \"", key, "\" must be a string");
    }
  }
  return tags;
}

// GET /jaeger/api/traces: the traces with a span that matches every condition.
HttpResponse FindTraces(QueryEngine* engine, const std::string& tenant, const HttpRequest& request) {
  const auto parameters = QueryParameters(request.target);
  const std::string service = Parameter(parameters, "service");
  if (service.empty()) return Error(400, "parameter 'service' is required");
  if (parameters.count("tag")) {
    return Error(400, "parameter 'tag' (key:value) is not supported: use tags={\"key\":\"value\"}");
  }
  auto range = ParseMicrosRange(parameters);
  if (!range.ok()) return Error(400, "parameter " + range.status().message());
  auto tags = ParseTags(Parameter(parameters, "tags"));
  if (!tags.ok()) return Error(400, tags.status().message());
  int64_t limit = kDefaultTraceLimit;
  if (!Parameter(parameters, "limit").empty()) {
    auto parsed = ParseInteger("limit", Parameter(parameters, "limit"));
    if (!parsed.ok() || *parsed <= 0) return Error(400, "parameter 'limit' must be a positive integer");
    limit = *parsed;
  }

  std::string where = "TraceId IS NOT NULL AND ServiceName = " + SqlString(service);
  if (!Parameter(parameters, "operation").empty()) where += " AND SpanName = " + SqlString(parameters.at("operation"));
  for (const auto& [key, value] : *tags) where += " AND " + TagCondition(key, value);
  std::optional<int64_t> durations[2];
  for (int i = 0; i < 2; ++i) {
    const char* name = i == 0 ? "minDuration" : "maxDuration";
    if (Parameter(parameters, name).empty()) continue;
    auto nanos = ParseGoDuration(Parameter(parameters, name));
    if (!nanos.ok()) return Error(400, fmt::format("parameter '{}': {}", name, nanos.status().message()));
    durations[i] = *nanos;
    where += fmt::format(" AND Duration {} {}", i == 0 ? ">=" : "<=", *nanos);
  }
  if (durations[0] && durations[1] && *durations[1] < *durations[0]) {
    return Error(400, "parameter 'maxDuration' must not be less than 'minDuration'");
  }

  // The matching traces, newest first...
  auto hits = RunInRange(engine, tenant,
                         fmt::format("SELECT lower(hex(TraceId)), min(epoch_ns(Timestamp)), max(epoch_ns(Timestamp)) "
                                     "FROM spans WHERE {}{} GROUP BY TraceId ORDER BY 3 DESC, 1 LIMIT {}",
                                     where, range->Sql(), limit),
                         *range);
  if (!hits.ok()) return Error(hits.status());
  if (hits->rows.rows == 0) return TracesAnswer(*hits, json::array());
  std::vector<std::string> ids;
  std::string values;
  int64_t first_ns = std::numeric_limits<int64_t>::max(), last_ns = std::numeric_limits<int64_t>::min();
  for (const auto& batch : hits->rows.batches) {
    for (int64_t i = 0; i < batch->num_rows(); ++i) {
      const std::string hex(cells::Bytes(*batch->column(0), i));
      values += fmt::format("{}(from_hex('{}'), {})", values.empty() ? "" : ", ", hex, ids.size());
      ids.push_back(*TraceIdFromHex(hex));
      first_ns = std::min(first_ns, cells::Int(*batch->column(1), i));
      last_ns = std::max(last_ns, cells::Int(*batch->column(2), i));
    }
  }
  // ...then all their spans, also those outside the range: within an hour of the matching spans,
  // as Jaeger's Elasticsearch reader looks for a trace's spans.
  TimeRange around{std::max(first_ns, std::numeric_limits<int64_t>::min() + kNanosPerHour) - kNanosPerHour,
                   std::min(last_ns, std::numeric_limits<int64_t>::max() - kNanosPerHour) + kNanosPerHour};
  auto spans = RunInRange(engine, tenant,
                          fmt::format("SELECT {} FROM spans JOIN (VALUES {}) AS hits(hit_id, hit_rank) ON TraceId = "
                                      "hit_id WHERE TRUE{} ORDER BY hit_rank, Timestamp, SpanId",
                                      kTraceColumns, values, around.Sql()),
                          around);
  if (!spans.ok()) return Error(spans.status());
  auto traces = TracesOfRows(*spans, ids, engine->limits().max_result_rows);
  if (!traces.ok()) return Error(500, traces.status().message());
  return TracesAnswer(*spans, std::move(*traces));
}

// GET /jaeger/api/traces/{id}
HttpResponse TraceById(QueryEngine* engine, const std::string& tenant, const HttpRequest& request) {
  constexpr std::string_view kPrefix = "/jaeger/api/traces/";
  auto id = TraceIdFromHex(PercentDecoded(std::string_view(request.path).substr(kPrefix.size())));
  if (!id.ok()) return Error(400, id.status().message());
  auto range = ParseMicrosRange(QueryParameters(request.target));
  if (!range.ok()) return Error(400, "parameter " + range.status().message());
  auto result = RunTraceById(engine, tenant, *id, *range);
  if (!result.ok()) return Error(result.status());
  if (result->rows.rows == 0) return Error(404, "trace not found");
  auto traces = TracesOfRows(*result, {*id}, engine->limits().max_result_rows);
  if (!traces.ok()) return Error(500, traces.status().message());
  return TracesAnswer(*result, std::move(*traces));
}

}  // namespace

std::vector<SearchRoute> JaegerRoutes(QueryEngine* engine) {
  return {
      GetRoute(engine, "/jaeger/api/services", Services),
      GetRoute(engine, "/jaeger/api/services/*", ServiceOperations),
      GetRoute(engine, "/jaeger/api/operations", Operations),
      GetRoute(engine, "/jaeger/api/traces", FindTraces),
      GetRoute(engine, "/jaeger/api/traces/*", TraceById),
  };
}

}  // namespace openwit::search
