#include "search/loki_api.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "search/arrow_cells.h"
#include "search/compat_api.h"
#include "search/logql.h"
#include "search/query_error.h"
#include "search/search_api.h"

namespace openwit::search {
namespace {

using nlohmann::json;
using Labels = std::map<std::string, std::string>;
using Parameters = std::map<std::string, std::string>;

constexpr int64_t kNanosPerSecond = 1000000000;
constexpr int64_t kNanosPerHour = 3600 * kNanosPerSecond;
constexpr int64_t kDefaultLimit = 100;                            // Loki's
constexpr int64_t kMaxPoints = 11000;                             // Loki's maximum resolution per series
constexpr int64_t kMaxNames = 10000;                              // label names, values or series listed at most
constexpr int64_t kMaxSpan = int64_t{3650} * 24 * kNanosPerHour;  // ranges, steps and windows: 10 years

std::string Dump(const json& body) { return body.dump(-1, ' ', false, json::error_handler_t::replace); }

HttpResponse Success(json data, const std::vector<std::string>& warnings = {}) {
  json body{{"status", "success"}, {"data", std::move(data)}};
  if (!warnings.empty()) body["warnings"] = warnings;
  return HttpResponse::Json(200, Dump(body));
}

// Loki's error body; Grafana shows its message.
HttpResponse Error(int code, const std::string& message) {
  HttpResponse r = HttpResponse::Json(code, Dump({{"status", "error"}, {"code", code}, {"message", message}}));
  if (code == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

HttpResponse Error(const arrow::Status& status) {
  return Error(HttpStatusOf(QueryErrorKindOf(status)), status.message());
}

// The request's parameters: its query string, and a POST's form body (Loki takes both).
Parameters RequestParameters(const HttpRequest& request) {
  Parameters parameters = QueryParameters(request.target);
  if (request.method == "POST" && !request.body.empty()) {
    for (auto& [name, value] : QueryParameters("?" + request.body)) parameters[name] = std::move(value);
  }
  return parameters;
}

// Every value of a repeated parameter (match[] of /series), from the query string and the body.
std::vector<std::string> AllValues(const HttpRequest& request, const std::string& name) {
  std::vector<std::string> values;
  auto scan = [&](std::string_view query) {
    while (!query.empty()) {
      const size_t amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      const size_t eq = pair.find('=');
      if (PercentDecoded(pair.substr(0, eq)) == name && eq != std::string_view::npos) {
        values.push_back(PercentDecoded(pair.substr(eq + 1)));
      }
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  };
  const size_t q = request.target.find('?');
  if (q != std::string::npos) scan(std::string_view(request.target).substr(q + 1));
  if (request.method == "POST") scan(request.body);
  return values;
}

std::string Parameter(const Parameters& parameters, const char* name) {
  auto it = parameters.find(name);
  return it == parameters.end() ? std::string() : it->second;
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// [start, end] of a request: `end` (default now), `start` (default end - since, since default
// `default_since`).
arrow::Result<std::pair<int64_t, int64_t>> ParseStartEnd(const Parameters& parameters, int64_t default_since) {
  int64_t end = NowNanos();
  if (!Parameter(parameters, "end").empty()) {
    auto parsed = ParseLokiTime(Parameter(parameters, "end"));
    if (!parsed.ok()) return arrow::Status::Invalid("invalid parameter \"end\": ", parsed.status().message());
    end = *parsed;
  }
  int64_t since = default_since;
  if (!Parameter(parameters, "since").empty()) {
    auto parsed = logql::ParseDuration(Parameter(parameters, "since"));
    if (!parsed.ok() || *parsed > kMaxSpan) {
      return arrow::Status::Invalid("invalid parameter \"since\": ", Parameter(parameters, "since"));
    }
    since = *parsed;
  }
  int64_t start = end - since;
  if (!Parameter(parameters, "start").empty()) {
    auto parsed = ParseLokiTime(Parameter(parameters, "start"));
    if (!parsed.ok()) return arrow::Status::Invalid("invalid parameter \"start\": ", parsed.status().message());
    start = *parsed;
  }
  if (end < start) return arrow::Status::Invalid("the end timestamp must not be before the start time");
  if (end - start > kMaxSpan) return arrow::Status::Invalid("the query covers more than 10 years");
  return std::pair{start, end};
}

// ---- rows to Loki's model -------------------------------------------------------------------

std::vector<std::string> ListText(const arrow::Array& list, int64_t row) {
  std::vector<std::string> out;
  const auto [begin, end] = cells::ListRange(list, row);
  const arrow::Array* values = cells::ListValues(list);
  for (int64_t i = begin; values != nullptr && i < end; ++i) out.emplace_back(cells::Bytes(*values, i));
  return out;
}

// The columns that make a stream's labels, and their reading (StreamLabels).
constexpr const char* kStreamColumns =
    "coalesce(ServiceName, '') AS service_name, {level} AS level, map_keys(ResourceAttributes) AS resource_keys, "
    "map_values(ResourceAttributes) AS resource_values";

std::string StreamColumns() { return fmt::format(fmt::runtime(kStreamColumns), fmt::arg("level", logql::LevelSql())); }

// The labels of the row from the kStreamColumns at `first`, without `dropped`.
Labels StreamLabels(const arrow::RecordBatch& batch, int first, int64_t row, const std::vector<std::string>& dropped) {
  Labels labels;
  const auto keys = ListText(*batch.column(first + 2), row);
  const auto values = ListText(*batch.column(first + 3), row);
  for (size_t i = 0; i < keys.size() && i < values.size(); ++i) {
    if (keys[i] != "service.name" && !values[i].empty()) labels[logql::LabelName(keys[i])] = values[i];
  }
  const std::string_view service = cells::Bytes(*batch.column(first), row);
  if (!service.empty()) labels["service_name"] = std::string(service);
  labels["level"] = std::string(cells::Bytes(*batch.column(first + 1), row));
  for (const auto& name : dropped) labels.erase(name);
  return labels;
}

json StatsSummary(const QueryStats& stats, int64_t entries) {
  return {{"summary",
           {{"execTime", stats.elapsed_ms / 1000.0},
            {"queueTime", 0},
            {"subqueries", 0},
            {"totalEntriesReturned", entries},
            {"totalBytesProcessed", stats.bytes_in_files},
            {"totalLinesProcessed", std::max<int64_t>(stats.rows_scanned, 0)}}}};
}

std::vector<std::string> TruncationWarnings(const QueryResult& result, int64_t max_rows) {
  if (!result.rows.truncated) return {};
  return {fmt::format("incomplete: more rows than search.max_result_rows ({}) were found for this answer", max_rows)};
}

// Runs `sql`; a refused regex is named with its position (DuckDB's RE2 checks them).
arrow::Result<QueryResult> RunLogql(QueryEngine* engine, const std::string& tenant, const logql::Query& query,
                                    std::string sql, const TimeRange& range, int64_t limit = 0) {
  auto result = RunInRange(engine, tenant, std::move(sql), range, limit);
  if (result.ok() || QueryErrorKindOf(result.status()) != QueryErrorKind::kBadQuery) return result;
  for (const auto& [regex, position] : logql::Regexes(query)) {
    QueryRequest probe;
    probe.sql = "SELECT regexp_matches('', " + SqlString(regex) + ")";
    auto checked = engine->Run(tenant, probe);
    if (!checked.ok() && QueryErrorKindOf(checked.status()) == QueryErrorKind::kBadQuery) {
      return QueryError(
          QueryErrorKind::kBadQuery,
          logql::ErrorAt(position, fmt::format("invalid regex \"{}\": {}", regex, checked.status().message())));
    }
  }
  return result;
}

// ---- log queries ----------------------------------------------------------------------------

HttpResponse LogQuery(QueryEngine* engine, const std::string& tenant, const logql::Query& query, int64_t start,
                      int64_t end, int64_t limit, bool forward) {
  // Loki: start inclusive, end exclusive.
  const TimeRange range{start, end};
  const std::string sql = fmt::format(
      "SELECT epoch_ns(Timestamp) AS ts, coalesce(Body, '') AS line, {} FROM logs WHERE {}{} ORDER BY "
      "Timestamp {} LIMIT {}",
      StreamColumns(), logql::SelectorSql(query.log), range.Sql(), forward ? "ASC" : "DESC", limit);
  auto result = RunLogql(engine, tenant, query, sql, range, limit);
  if (!result.ok()) return Error(result.status());
  std::map<Labels, size_t> index;
  json streams = json::array();
  for (const auto& batch : result->rows.batches) {
    for (int64_t i = 0; i < batch->num_rows(); ++i) {
      Labels labels = StreamLabels(*batch, 2, i, query.log.dropped);
      auto [it, added] = index.emplace(labels, streams.size());
      if (added) streams.push_back({{"stream", labels}, {"values", json::array()}});
      streams[it->second]["values"].push_back(
          {std::to_string(cells::Int(*batch->column(0), i)), std::string(cells::Bytes(*batch->column(1), i))});
    }
  }
  return Success({{"resultType", "streams"},
                  {"result", std::move(streams)},
                  {"stats", StatsSummary(result->stats, result->rows.rows)}},
                 TruncationWarnings(*result, engine->limits().max_result_rows));
}

// ---- metric queries -------------------------------------------------------------------------

// The evaluation times: start + k * step, k in [0, points).
struct Grid {
  int64_t start = 0;
  int64_t step = 1;
  int64_t points = 1;
};

using SeriesSet = std::map<Labels, std::map<int64_t, double>>;  // labels -> k -> value

struct Evaluation {
  QueryEngine* engine;
  const std::string& tenant;
  const logql::Query& query;
  Grid grid;
  std::vector<std::string> warnings;
  QueryStats stats;
};

// count_over_time or rate of one selector, grouped by `grouping` (the enclosing sum's labels) or,
// without one, by stream.
arrow::Result<SeriesSet> RangeAggregation(Evaluation* ev, const logql::MetricExpr& expr,
                                          const std::vector<std::string>* grouping) {
  const Grid& g = ev->grid;
  const int64_t r = expr.range_ns;
  if (r > kMaxSpan)
    return arrow::Status::Invalid("the range of ", expr.rate ? "rate" : "count_over_time", " is longer than 10 years");
  // The group expressions (inner query) and their names (outer query).
  std::string columns, names;
  if (grouping != nullptr) {
    for (size_t i = 0; i < grouping->size(); ++i) {
      columns += fmt::format(", {} AS g{}", logql::LabelSql((*grouping)[i]), i);
      names += fmt::format(", g{}", i);
    }
  } else {
    columns = ", " + StreamColumns();
    names = ", service_name, level, resource_keys, resource_values";
  }
  // Lines in (t - range, t] count at t = start + k * step: k from ceil(d / step) to
  // ceil((d + range) / step) - 1, where d = ts - start > -range.
  const int64_t last = g.start + (g.points - 1) * g.step;
  const TimeRange range{g.start - r + 1, last + 1};
  const std::string full_sql = fmt::format(
      "SELECT k{0}, count(*) AS n FROM (SELECT unnest(generate_series(CASE WHEN d > 0 THEN (d + {2} - 1) // {2} "
      "ELSE 0 END, least((d + {3} + {2} - 1) // {2} - 1, {4}))) AS k{1} FROM (SELECT epoch_ns(Timestamp) - {5} AS "
      "d, * FROM logs WHERE {6}{7})) GROUP BY ALL ORDER BY ALL",
      names, columns, g.step, r, g.points - 1, g.start, logql::SelectorSql(expr.selector), range.Sql());
  ARROW_ASSIGN_OR_RAISE(auto result, RunLogql(ev->engine, ev->tenant, ev->query, full_sql, range));
  for (auto& w : TruncationWarnings(result, ev->engine->limits().max_result_rows)) ev->warnings.push_back(w);
  ev->stats.bytes_in_files += result.stats.bytes_in_files;
  ev->stats.rows_scanned += std::max<int64_t>(result.stats.rows_scanned, 0);
  ev->stats.elapsed_ms += result.stats.elapsed_ms;
  const double per_second = expr.rate ? static_cast<double>(r) / kNanosPerSecond : 1.0;
  SeriesSet series;
  for (const auto& batch : result.rows.batches) {
    const int n_column = batch->num_columns() - 1;
    for (int64_t i = 0; i < batch->num_rows(); ++i) {
      Labels labels;
      if (grouping != nullptr) {
        for (size_t c = 0; c < grouping->size(); ++c) {
          std::string value(cells::Bytes(*batch->column(static_cast<int>(c) + 1), i));
          if (!value.empty()) labels[(*grouping)[c]] = std::move(value);
        }
      } else {
        labels = StreamLabels(*batch, 1, i, expr.selector.dropped);
      }
      series[labels][cells::Int(*batch->column(0), i)] +=
          static_cast<double>(cells::Int(*batch->column(n_column), i)) / per_second;
    }
  }
  return series;
}

double Apply(char op, double a, double b) {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    default:
      return a / b;
  }
}

arrow::Result<SeriesSet> Evaluate(Evaluation* ev, const logql::MetricExpr& expr,
                                  const std::vector<std::string>* grouping) {
  switch (expr.kind) {
    case logql::MetricExpr::Kind::kConstant: {
      SeriesSet series;
      for (int64_t k = 0; k < ev->grid.points; ++k) series[{}][k] = expr.constant;
      return series;
    }
    case logql::MetricExpr::Kind::kRangeAggregation:
      return RangeAggregation(ev, expr, grouping);
    case logql::MetricExpr::Kind::kSum: {
      static const std::vector<std::string> kNone;
      ARROW_ASSIGN_OR_RAISE(auto inner, Evaluate(ev, *expr.children[0], expr.grouped ? &expr.by : &kNone));
      SeriesSet series;
      for (const auto& [labels, points] : inner) {
        Labels kept;
        for (const auto& name : expr.by) {
          auto it = labels.find(name);
          if (it != labels.end() && !it->second.empty()) kept[name] = it->second;
        }
        auto& target = series[kept];
        for (const auto& [k, v] : points) target[k] += v;
      }
      return series;
    }
    case logql::MetricExpr::Kind::kBinary: {
      const bool left_scalar = expr.children[0]->kind == logql::MetricExpr::Kind::kConstant;
      const double constant = expr.children[left_scalar ? 0 : 1]->constant;
      ARROW_ASSIGN_OR_RAISE(auto series, Evaluate(ev, *expr.children[left_scalar ? 1 : 0], grouping));
      for (auto& [labels, points] : series) {
        for (auto& [k, v] : points) v = left_scalar ? Apply(expr.op, constant, v) : Apply(expr.op, v, constant);
      }
      return series;
    }
  }
  return arrow::Status::Invalid("unknown metric expression");
}

// Prometheus's sample value: the shortest decimal that reads back the same.
std::string SampleValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

// Unix seconds with milliseconds, as Loki writes sample times.
double SampleTime(int64_t nanos) { return static_cast<double>(nanos / 1000000) / 1000.0; }

HttpResponse MetricQuery(QueryEngine* engine, const std::string& tenant, const logql::Query& query, Grid grid,
                         bool instant) {
  Evaluation ev{engine, tenant, query, grid, {}, {}};
  auto series = Evaluate(&ev, *query.metric, nullptr);
  if (!series.ok()) return Error(series.status());
  json result = json::array();
  for (const auto& [labels, points] : *series) {
    if (points.empty()) continue;
    if (instant) {
      const auto& [k, v] = *points.begin();
      result.push_back({{"metric", labels}, {"value", {SampleTime(grid.start + k * grid.step), SampleValue(v)}}});
      continue;
    }
    json values = json::array();
    for (const auto& [k, v] : points) values.push_back({SampleTime(grid.start + k * grid.step), SampleValue(v)});
    result.push_back({{"metric", labels}, {"values", std::move(values)}});
  }
  return Success({{"resultType", instant ? "vector" : "matrix"},
                  {"result", std::move(result)},
                  {"stats", StatsSummary(ev.stats, 0)}},
                 ev.warnings);
}

// ---- endpoints ------------------------------------------------------------------------------

arrow::Result<logql::Query> ParseQueryParameter(const Parameters& parameters) {
  const std::string text = Parameter(parameters, "query");
  if (text.empty()) return arrow::Status::Invalid("the parameter \"query\" is required");
  return logql::Parse(text);
}

HttpResponse QueryRange(QueryEngine* engine, const std::string& tenant, const HttpRequest& request) {
  const auto parameters = RequestParameters(request);
  auto query = ParseQueryParameter(parameters);
  if (!query.ok()) return Error(400, query.status().message());
  auto range = ParseStartEnd(parameters, kNanosPerHour);
  if (!range.ok()) return Error(400, range.status().message());
  const auto [start, end] = *range;
  const std::string direction = Parameter(parameters, "direction");
  if (!direction.empty() && direction != "backward" && direction != "forward") {
    return Error(400, fmt::format("invalid parameter \"direction\": \"{}\" (backward or forward)", direction));
  }
  int64_t limit = kDefaultLimit;
  if (!Parameter(parameters, "limit").empty()) {
    auto parsed = ParseInteger("limit", Parameter(parameters, "limit"));
    if (!parsed.ok() || *parsed <= 0) return Error(400, "invalid parameter \"limit\": a positive integer");
    limit = *parsed;
  }
  if (!query->metric) {
    if (start == end) return Success({{"resultType", "streams"}, {"result", json::array()}});
    return LogQuery(engine, tenant, *query, start, end, limit, direction == "forward");
  }
  // Loki's default step: a 250th of the range, at least a second.
  int64_t step = std::max<int64_t>((end - start) / 250 / kNanosPerSecond, 1) * kNanosPerSecond;
  if (!Parameter(parameters, "step").empty()) {
    auto parsed = logql::ParseDuration(Parameter(parameters, "step"));
    if (!parsed.ok() || *parsed <= 0 || *parsed > kMaxSpan) {
      return Error(400, fmt::format("invalid parameter \"step\": \"{}\" (a positive duration: 15s, 1m, 1000ms, or "
                                    "float seconds)",
                                    Parameter(parameters, "step")));
    }
    step = *parsed;
  }
  if ((end - start) / step >= kMaxPoints) {
    return Error(400, fmt::format("exceeded maximum resolution of {} points per timeseries. Try decreasing the query "
                                  "resolution (?step=XX)",
                                  kMaxPoints));
  }
  return MetricQuery(engine, tenant, *query, Grid{start, step, (end - start) / step + 1}, /*instant=*/false);
}

HttpResponse InstantQuery(QueryEngine* engine, const std::string& tenant, const HttpRequest& request) {
  const auto parameters = RequestParameters(request);
  auto query = ParseQueryParameter(parameters);
  if (!query.ok()) return Error(400, query.status().message());
  if (!query->metric) {
    return Error(400,
                 "log queries are not supported as an instant query type, please change your query to a range "
                 "query type");
  }
  int64_t time = NowNanos();
  if (!Parameter(parameters, "time").empty()) {
    auto parsed = ParseLokiTime(Parameter(parameters, "time"));
    if (!parsed.ok()) return Error(400, "invalid parameter \"time\": " + parsed.status().message());
    time = *parsed;
  }
  return MetricQuery(engine, tenant, *query, Grid{time, 1, 1}, /*instant=*/true);
}

// The condition of the `query` parameter's selector (labels, values, stats), or TRUE.
arrow::Result<std::string> SelectorOf(const Parameters& parameters) {
  if (Parameter(parameters, "query").empty()) return std::string("TRUE");
  ARROW_ASSIGN_OR_RAISE(auto query, logql::Parse(Parameter(parameters, "query")));
  if (query.metric) return arrow::Status::Invalid("\"query\" must be a stream selector, not a metric query");
  return logql::SelectorSql(query.log);
}

HttpResponse LabelNames(QueryEngine* engine, const std::string& tenant, const HttpRequest& request) {
  const auto parameters = RequestParameters(request);
  auto range = ParseStartEnd(parameters, 6 * kNanosPerHour);
  if (!range.ok()) return Error(400, range.status().message());
  auto where = SelectorOf(parameters);
  if (!where.ok()) return Error(400, where.status().message());
  const TimeRange time{range->first, range->second + 1};
  auto result = RunInRange(engine, tenant,
                           fmt::format("SELECT DISTINCT unnest(list_concat(['service_name', 'level'], "
                                       "map_keys(ResourceAttributes))) AS k FROM logs WHERE {}{} LIMIT {}",
                                       *where, time.Sql(), kMaxNames),
                           time);
  if (!result.ok()) return Error(result.status());
  std::set<std::string> names;
  for (const auto& key : ColumnText(result->rows, 0)) {
    if (key != "service.name") names.insert(logql::LabelName(key));
  }
  return Success(names);
}

HttpResponse LabelValues(QueryEngine* engine, const std::string& tenant, const HttpRequest& request) {
  constexpr std::string_view kPrefix = "/loki/api/v1/label/", kSuffix = "/values";
  std::string_view rest = std::string_view(request.path).substr(kPrefix.size());
  if (rest.size() <= kSuffix.size() || rest.substr(rest.size() - kSuffix.size()) != kSuffix) {
    return Error(404, "no such endpoint: " + request.path);
  }
  const std::string name = PercentDecoded(rest.substr(0, rest.size() - kSuffix.size()));
  const auto parameters = RequestParameters(request);
  auto range = ParseStartEnd(parameters, 6 * kNanosPerHour);
  if (!range.ok()) return Error(400, range.status().message());
  auto where = SelectorOf(parameters);
  if (!where.ok()) return Error(400, where.status().message());
  const TimeRange time{range->first, range->second + 1};
  auto result = RunInRange(engine, tenant,
                           fmt::format("SELECT DISTINCT v FROM (SELECT {} AS v FROM logs WHERE {}{}) WHERE v <> '' "
                                       "ORDER BY v LIMIT {}",
                                       logql::LabelSql(name), *where, time.Sql(), kMaxNames),
                           time);
  if (!result.ok()) return Error(result.status());
  return Success(ColumnText(result->rows, 0));
}

HttpResponse Series(QueryEngine* engine, const std::string& tenant, const HttpRequest& request) {
  const auto parameters = RequestParameters(request);
  auto range = ParseStartEnd(parameters, 6 * kNanosPerHour);
  if (!range.ok()) return Error(400, range.status().message());
  std::string where;
  for (const auto& match : AllValues(request, "match[]")) {
    auto query = logql::Parse(match);
    if (!query.ok()) return Error(400, query.status().message());
    if (query->metric) return Error(400, "match[] must be a stream selector, not a metric query");
    where += (where.empty() ? "(" : " OR (") + logql::SelectorSql(query->log) + ")";
  }
  if (where.empty()) where = "TRUE";
  const TimeRange time{range->first, range->second + 1};
  auto result = RunInRange(
      engine, tenant,
      fmt::format("SELECT DISTINCT {} FROM logs WHERE ({}){} LIMIT {}", StreamColumns(), where, time.Sql(), kMaxNames),
      time);
  if (!result.ok()) return Error(result.status());
  std::set<Labels> series;
  for (const auto& batch : result->rows.batches) {
    for (int64_t i = 0; i < batch->num_rows(); ++i) series.insert(StreamLabels(*batch, 0, i, {}));
  }
  json data = json::array();
  for (const auto& labels : series) data.push_back(labels);
  return Success(std::move(data));
}

// The query editor's estimate of what a selector reads.
HttpResponse IndexStats(QueryEngine* engine, const std::string& tenant, const HttpRequest& request) {
  const auto parameters = RequestParameters(request);
  auto range = ParseStartEnd(parameters, kNanosPerHour);
  if (!range.ok()) return Error(400, range.status().message());
  auto where = SelectorOf(parameters);
  if (!where.ok()) return Error(400, where.status().message());
  const TimeRange time{range->first, range->second + 1};
  auto result = RunInRange(
      engine, tenant,
      fmt::format("SELECT count(DISTINCT (ServiceName, ResourceAttributes)) AS streams, count(*) AS entries, "
                  "coalesce(sum(octet_length(Body)), 0)::BIGINT AS bytes FROM logs WHERE {}{}",
                  *where, time.Sql()),
      time);
  if (!result.ok()) return Error(result.status());
  int64_t values[3] = {0, 0, 0};
  for (const auto& batch : result->rows.batches) {
    for (int c = 0; c < 3 && batch->num_rows() > 0; ++c) values[c] = cells::Int(*batch->column(c), 0);
  }
  return HttpResponse::Json(
      200, Dump({{"streams", values[0]}, {"chunks", 0}, {"entries", values[1]}, {"bytes", values[2]}}));
}

}  // namespace

arrow::Result<int64_t> ParseLokiTime(const std::string& text) {
  if (text.empty()) return arrow::Status::Invalid("empty time");
  // Times stay within +-kMaxTime, so that a range, a step or a window added to them never
  // overflows.
  constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max() - 4 * kMaxSpan;
  auto bounded = [&](int64_t nanos) -> arrow::Result<int64_t> {
    if (nanos > kMaxTime) return arrow::Status::Invalid("\"", text, "\" is after the year 2200");
    return nanos;
  };
  if (text.find_first_not_of("0123456789") == std::string::npos) {
    ARROW_ASSIGN_OR_RAISE(int64_t value, ParseInteger("time", text));
    if (text.size() <= 10) return bounded(value > kMaxTime / kNanosPerSecond ? kMaxTime + 1 : value * kNanosPerSecond);
    return bounded(value);
  }
  const size_t dot = text.find('.');
  if (text.find_first_not_of("0123456789.") == std::string::npos && dot == text.rfind('.') && dot > 0 && dot <= 10) {
    // Float seconds, the fraction kept to the nanosecond.
    ARROW_ASSIGN_OR_RAISE(int64_t seconds, ParseInteger("time", text.substr(0, dot)));
    std::string fraction = text.substr(dot + 1, 9);
    fraction.resize(9, '0');
    ARROW_ASSIGN_OR_RAISE(int64_t nanos, ParseInteger("time", fraction));
    if (seconds > kMaxTime / kNanosPerSecond) return bounded(kMaxTime + 1);
    return bounded(seconds * kNanosPerSecond + nanos);
  }
  auto parsed = ParseTime(json(text));
  if (!parsed.ok()) {
    return arrow::Status::Invalid("\"", text, "\" is none of Unix nanoseconds, Unix seconds or RFC 3339");
  }
  if (*parsed < -kMaxTime) return arrow::Status::Invalid("\"", text, "\" is before the year 1700");
  return bounded(*parsed);
}

std::vector<SearchRoute> LokiRoutes(QueryEngine* engine) {
  std::vector<SearchRoute> routes;
  const std::pair<const char*, CompatHandler> endpoints[] = {
      {"/loki/api/v1/query_range", QueryRange}, {"/loki/api/v1/query", InstantQuery},
      {"/loki/api/v1/labels", LabelNames},      {"/loki/api/v1/label", LabelNames},
      {"/loki/api/v1/label/*", LabelValues},    {"/loki/api/v1/series", Series},
      {"/loki/api/v1/index/stats", IndexStats},
  };
  for (const auto& [path, handle] : endpoints) {
    for (const char* method : {"GET", "POST"}) {
      SearchRoute route = GetRoute(engine, path, handle);
      route.method = method;
      routes.push_back(std::move(route));
    }
  }
  return routes;
}

}  // namespace openwit::search
