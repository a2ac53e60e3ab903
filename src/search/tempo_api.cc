#include "search/tempo_api.h"

#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "search/arrow_cells.h"
#include "search/compat_api.h"
#include "search/query_error.h"
#include "search/trace_view.h"
#include "search/traceql.h"

namespace openwit::search {
namespace {

constexpr const char* kProtobuf = "application/protobuf";
constexpr int64_t kNanosPerSecond = 1000000000;
constexpr int64_t kMaxTagEntries = 1000;  // tag names or values listed at most

HttpResponse BadRequest(const std::string& message) { return SearchError(400, "bad_query", message); }

// Tempo's start and end: Unix seconds.
arrow::Result<TimeRange> ParseSecondsRange(const std::map<std::string, std::string>& parameters) {
  return ParseTimeRange(parameters, kNanosPerSecond, "seconds");
}

bool WantsProtobuf(const HttpRequest& request) { return request.Header("accept").find(kProtobuf) != std::string::npos; }

// ---- trace by id ----------------------------------------------------------------------------

HttpResponse TraceById(QueryEngine* engine, const std::string& tenant, const HttpRequest& request, bool v2) {
  const std::string prefix = v2 ? "/tempo/api/v2/traces/" : "/tempo/api/traces/";
  const std::string hex = PercentDecoded(std::string_view(request.path).substr(prefix.size()));
  auto id = TraceIdFromHex(hex);
  if (!id.ok()) return BadRequest(id.status().message());
  auto range = ParseSecondsRange(QueryParameters(request.target));
  if (!range.ok()) return BadRequest(range.status().message());
  auto result = RunTraceById(engine, tenant, *id, *range);
  if (!result.ok()) return SearchError(result.status());
  if (result->rows.rows == 0) {
    return SearchError(404, "not_found", fmt::format("trace {} not found", Hex(*id)));
  }
  auto trace = TraceFromRows(result->rows);
  if (!trace.ok()) return SearchError(500, "internal", trace.status().message());
  HttpResponse response;
  if (WantsProtobuf(request)) {
    std::string bytes = trace->SerializeAsString();
    if (v2) {
      // tempopb.TraceByIDResponse: field 1, the Trace (whose bytes are TracesData's).
      std::string wrapped(1, '\x0a');
      for (uint64_t n = bytes.size();; n >>= 7) {
        if (n < 0x80) {
          wrapped.push_back(static_cast<char>(n));
          break;
        }
        wrapped.push_back(static_cast<char>((n & 0x7f) | 0x80));
      }
      bytes = wrapped + bytes;
    }
    response = HttpResponse::Json(200, std::move(bytes));
    response.content_type = kProtobuf;
  } else {
    auto json = TracesDataJson(*trace);
    if (!json.ok()) return SearchError(500, "internal", json.status().message());
    nlohmann::json body = v2 ? nlohmann::json{{"trace", *json}}
                             : nlohmann::json{{"batches", json->value("resourceSpans", nlohmann::json::array())}};
    response = HttpResponse::Json(200, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  response.headers.emplace_back("X-OpenWit-Truncated", result->rows.truncated ? "true" : "false");
  return response;
}

// ---- search ---------------------------------------------------------------------------------

// The SQL condition one span meets for the tag key=value.
std::string TagCondition(const std::string& key, const std::string& value) {
  if (key == "service.name") return "ServiceName = " + SqlString(value);
  if (key == "name") return "SpanName = " + SqlString(value);
  if (key == "status.code" || key == "status") return "lower(StatusCode) = lower(" + SqlString(value) + ")";
  return AttributeCondition(key, value);
}

// The spanset of result row i (columns 5..10 of Search's query): its first `limit` matched spans
// as Tempo lists them, and how many matched.
nlohmann::json SpanSet(const arrow::RecordBatch& batch, int64_t i, int64_t limit) {
  nlohmann::json spans = nlohmann::json::array();
  auto [begin, end] = cells::ListRange(*batch.column(6), i);
  const arrow::Array* lists[5];
  for (int c = 0; c < 5; ++c) lists[c] = cells::ListValues(*batch.column(6 + c));
  for (int64_t j = begin; j < end && j - begin < limit && lists[0] != nullptr; ++j) {
    // The five lists of a row are aggregated over the same spans: same offsets.
    auto text = [&](int c) { return lists[c] ? std::string(cells::Bytes(*lists[c], j)) : std::string(); };
    spans.push_back(
        {{"spanID", text(0)},
         {"name", text(1)},
         {"startTimeUnixNano", text(2)},
         {"durationNanos", text(3)},
         {"attributes", nlohmann::json::array({{{"key", "service.name"}, {"value", {{"stringValue", text(4)}}}}})}});
  }
  return {{"spans", std::move(spans)}, {"matched", cells::Int(*batch.column(5), i)}};
}

HttpResponse Search(QueryEngine* engine, const std::string& tenant, const HttpRequest& request) {
  const auto parameters = QueryParameters(request.target);
  auto get = [&](const char* name) {
    auto it = parameters.find(name);
    return it == parameters.end() ? std::string() : it->second;
  };
  auto range = ParseSecondsRange(parameters);
  if (!range.ok()) return BadRequest(range.status().message());
  int64_t limit = 20, spans_per_set = 3;
  for (auto [name, value] : {std::pair{"limit", &limit}, std::pair{"spss", &spans_per_set}}) {
    if (get(name).empty()) continue;
    auto parsed = ParseInteger(name, get(name));
    if (!parsed.ok() || *parsed <= 0) return BadRequest(fmt::format("\"{}\" must be a positive integer", name));
    *value = std::min<int64_t>(*parsed, 100000);
  }
  // A trace matches `having` (over its spans); its spans that match `matched` are its spanset.
  std::string having = "TRUE", matched = "TRUE";
  if (const std::string q = get("q"); !q.empty()) {
    // TraceQL, as the data source sends from its search builder and editor; tags are then ignored.
    auto traceql = TraceQlToSql(q);
    if (!traceql.ok()) return BadRequest(traceql.status().message());
    having = traceql->having;
    matched = traceql->matched;
  } else {
    auto tags = ParseLogfmt(get("tags"));
    if (!tags.ok()) return BadRequest("tags: " + tags.status().message());
    if (!tags->empty()) {
      std::string all;
      for (const auto& [key, value] : *tags) all += (all.empty() ? "" : " AND ") + TagCondition(key, value);
      having = "bool_or(" + all + ")";
      matched = all;
    }
  }
  for (auto [name, op] : {std::pair{"minDuration", ">="}, std::pair{"maxDuration", "<="}}) {
    if (get(name).empty()) continue;
    auto nanos = ParseGoDuration(get(name));
    if (!nanos.ok()) return BadRequest(fmt::format("\"{}\": {}", name, nanos.status().message()));
    having += fmt::format(" AND max(epoch_ns(Timestamp) + Duration) - min(epoch_ns(Timestamp)) {} {}", op, *nanos);
  }
  const std::string sql = fmt::format(
      "SELECT lower(hex(TraceId)) AS trace_id, CAST(min(epoch_ns(Timestamp)) AS VARCHAR) AS start_ns, "
      "(max(epoch_ns(Timestamp) + Duration) - min(epoch_ns(Timestamp))) // 1000000 AS duration_ms, "
      "any_value(ServiceName) FILTER (WHERE ParentSpanId IS NULL) AS root_service, "
      "any_value(SpanName) FILTER (WHERE ParentSpanId IS NULL) AS root_name, "
      "count(*) FILTER (WHERE {2}) AS matched, "
      "(list(lower(hex(SpanId)) ORDER BY Timestamp) FILTER (WHERE {2}))[1:{3}] AS span_ids, "
      "(list(SpanName ORDER BY Timestamp) FILTER (WHERE {2}))[1:{3}] AS span_names, "
      "(list(CAST(epoch_ns(Timestamp) AS VARCHAR) ORDER BY Timestamp) FILTER (WHERE {2}))[1:{3}] AS span_starts, "
      "(list(CAST(Duration AS VARCHAR) ORDER BY Timestamp) FILTER (WHERE {2}))[1:{3}] AS span_durations, "
      "(list(ServiceName ORDER BY Timestamp) FILTER (WHERE {2}))[1:{3}] AS span_services "
      "FROM spans WHERE TraceId IS NOT NULL{0} GROUP BY TraceId HAVING {1} ORDER BY min(epoch_ns(Timestamp)) DESC, 1",
      range->Sql(), having, matched, spans_per_set);
  auto result = RunInRange(engine, tenant, sql, *range, limit);
  if (!result.ok()) return SearchError(result.status());
  nlohmann::json traces = nlohmann::json::array();
  for (const auto& batch : result->rows.batches) {
    for (int64_t i = 0; i < batch->num_rows(); ++i) {
      nlohmann::json t{{"traceID", std::string(cells::Bytes(*batch->column(0), i))},
                       {"startTimeUnixNano", std::string(cells::Bytes(*batch->column(1), i))},
                       {"durationMs", cells::Int(*batch->column(2), i)}};
      // Tempo leaves the root's fields out until the root span arrives.
      if (!batch->column(3)->IsNull(i)) t["rootServiceName"] = std::string(cells::Bytes(*batch->column(3), i));
      if (!batch->column(4)->IsNull(i)) t["rootTraceName"] = std::string(cells::Bytes(*batch->column(4), i));
      t["spanSet"] = SpanSet(*batch, i, spans_per_set);
      t["spanSets"] = nlohmann::json::array({t["spanSet"]});
      traces.push_back(std::move(t));
    }
  }
  nlohmann::json body{
      {"traces", std::move(traces)},
      {"metrics",
       {{"inspectedBytes", std::to_string(result->stats.bytes_in_files)}, {"completedJobs", 1}, {"totalJobs", 1}}}};
  return HttpResponse::Json(200, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

// ---- tag names and values -------------------------------------------------------------------

// The intrinsic tags of v1 (what Search takes) and of v2 (TraceQL's names, for the scoped lists).
const std::vector<std::string> kIntrinsicTagsV1 = {"name", "service.name", "status.code"};
const std::vector<std::string> kIntrinsicTagsV2 = {"kind", "name", "status"};

HttpResponse TagNames(QueryEngine* engine, const std::string& tenant, const HttpRequest& request, bool v2) {
  auto range = ParseSecondsRange(QueryParameters(request.target));
  if (!range.ok()) return BadRequest(range.status().message());
  const std::string where = "TRUE" + range->Sql();
  auto result =
      RunInRange(engine, tenant,
                 fmt::format("SELECT DISTINCT 'span' AS scope, k FROM (SELECT unnest(map_keys(SpanAttributes)) AS k "
                             "FROM spans WHERE {0}) UNION SELECT DISTINCT 'resource', k FROM (SELECT "
                             "unnest(map_keys(ResourceAttributes)) AS k FROM spans WHERE {0}) ORDER BY 1, 2 LIMIT {1}",
                             where, 2 * kMaxTagEntries),
                 *range);
  if (!result.ok()) return SearchError(result.status());
  const auto scopes = ColumnText(result->rows, 0);
  const auto keys = ColumnText(result->rows, 1);
  if (!v2) {
    std::set<std::string> names(kIntrinsicTagsV1.begin(), kIntrinsicTagsV1.end());
    names.insert(keys.begin(), keys.end());
    return HttpResponse::Json(
        200, nlohmann::json{{"tagNames", names}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  std::map<std::string, std::vector<std::string>> by_scope{{"span", {}}, {"resource", {}}};
  for (size_t i = 0; i < keys.size(); ++i) by_scope[scopes[i]].push_back(keys[i]);
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [scope, tags] : by_scope) list.push_back({{"name", scope}, {"tags", tags}});
  list.push_back({{"name", "intrinsic"}, {"tags", kIntrinsicTagsV2}});
  return HttpResponse::Json(
      200, nlohmann::json{{"scopes", list}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

// The SQL expression whose distinct values are the values of tag `name` (v1 names, or v2's
// scoped ones: resource.x, span.x, .x, and the intrinsics).
std::string TagValueExpression(const std::string& name, bool v2) {
  if (!v2) {
    if (name == "service.name") return "ServiceName";
    if (name == "name") return "SpanName";
    if (name == "status.code") return "lower(StatusCode)";
    return fmt::format("unnest([SpanAttributes[{0}], ResourceAttributes[{0}]])", SqlString(name));
  }
  if (name == "name") return "SpanName";
  if (name == "status") return "lower(StatusCode)";
  if (name == "kind") return "lower(SpanKind)";
  if (name == "resource.service.name") return "ServiceName";
  if (name.rfind("resource.", 0) == 0) return fmt::format("ResourceAttributes[{}]", SqlString(name.substr(9)));
  if (name.rfind("span.", 0) == 0) return fmt::format("SpanAttributes[{}]", SqlString(name.substr(5)));
  const std::string key = name.rfind('.', 0) == 0 ? name.substr(1) : name;
  return fmt::format("unnest([SpanAttributes[{0}], ResourceAttributes[{0}]])", SqlString(key));
}

HttpResponse TagValues(QueryEngine* engine, const std::string& tenant, const HttpRequest& request, bool v2) {
  const std::string prefix = v2 ? "/tempo/api/v2/search/tag/" : "/tempo/api/search/tag/";
  std::string_view rest = std::string_view(request.path).substr(prefix.size());
  constexpr std::string_view kValues = "/values";
  if (rest.size() <= kValues.size() || rest.substr(rest.size() - kValues.size()) != kValues) {
    return SearchError(404, "not_found", "no such endpoint: " + request.path);
  }
  const std::string name = PercentDecoded(rest.substr(0, rest.size() - kValues.size()));
  auto range = ParseSecondsRange(QueryParameters(request.target));
  if (!range.ok()) return BadRequest(range.status().message());
  auto result =
      RunInRange(engine, tenant,
                 fmt::format("SELECT DISTINCT v FROM (SELECT {} AS v FROM spans WHERE TRUE{}) WHERE v IS NOT NULL "
                             "AND v <> '' ORDER BY v LIMIT {}",
                             TagValueExpression(name, v2), range->Sql(), kMaxTagEntries),
                 *range);
  if (!result.ok()) return SearchError(result.status());
  nlohmann::json values = nlohmann::json::array();
  const bool keyword = name == "status" || name == "kind";
  for (auto& value : ColumnText(result->rows, 0)) {
    if (v2) {
      values.push_back({{"type", keyword ? "keyword" : "string"}, {"value", std::move(value)}});
    } else {
      values.push_back(std::move(value));
    }
  }
  return HttpResponse::Json(
      200, nlohmann::json{{"tagValues", values}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

arrow::Result<std::vector<std::pair<std::string, std::string>>> ParseLogfmt(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> pairs;
  size_t i = 0;
  auto skip_spaces = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  };
  skip_spaces();
  while (i < text.size()) {
    const size_t key_start = i;
    while (i < text.size() && text[i] != '=' && text[i] != ' ' && text[i] != '\t') ++i;
    std::string key(text.substr(key_start, i - key_start));
    if (key.empty()) return arrow::Status::Invalid("a tag without a name at byte ", key_start);
    if (i >= text.size() || text[i] != '=') {
      return arrow::Status::Invalid("tag \"", key, "\" has no value (logfmt: key=value or key=\"a value\")");
    }
    ++i;  // '='
    std::string value;
    if (i < text.size() && text[i] == '"') {
      ++i;
      bool closed = false;
      while (i < text.size()) {
        char c = text[i++];
        if (c == '\\' && i < text.size()) {
          value.push_back(text[i++]);
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          value.push_back(c);
        }
      }
      if (!closed) return arrow::Status::Invalid("tag \"", key, "\": the quoted value has no closing quote");
    } else {
      const size_t value_start = i;
      while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
      value = std::string(text.substr(value_start, i - value_start));
    }
    pairs.emplace_back(std::move(key), std::move(value));
    skip_spaces();
  }
  return pairs;
}

std::vector<SearchRoute> TempoRoutes(QueryEngine* engine) {
  auto route = [engine](std::string path, CompatHandler handle) { return GetRoute(engine, std::move(path), handle); };
  return {
      SearchRoute{"GET", "/tempo/api/echo",
                  [](const std::string&, const HttpRequest&) { return HttpResponse::Text(200, "echo"); }},
      route("/tempo/api/traces/*", [](auto* e, auto& t, auto& r) { return TraceById(e, t, r, false); }),
      route("/tempo/api/v2/traces/*", [](auto* e, auto& t, auto& r) { return TraceById(e, t, r, true); }),
      route("/tempo/api/search", [](auto* e, auto& t, auto& r) { return Search(e, t, r); }),
      route("/tempo/api/search/tags", [](auto* e, auto& t, auto& r) { return TagNames(e, t, r, false); }),
      route("/tempo/api/v2/search/tags", [](auto* e, auto& t, auto& r) { return TagNames(e, t, r, true); }),
      route("/tempo/api/search/tag/*", [](auto* e, auto& t, auto& r) { return TagValues(e, t, r, false); }),
      route("/tempo/api/v2/search/tag/*", [](auto* e, auto& t, auto& r) { return TagValues(e, t, r, true); }),
  };
}

}  // namespace openwit::search
