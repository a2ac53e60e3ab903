#include "search/compat_api.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

#include <fmt/format.h>

#include "search/arrow_cells.h"
#include "search/trace_view.h"

namespace openwit::search {

std::string SqlString(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out.push_back('\'');
    if (c != '\0') out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string AttributeCondition(const std::string& key, const std::string& value) {
  return fmt::format("(SpanAttributes[{0}] = {1} OR ResourceAttributes[{0}] = {1})", SqlString(key), SqlString(value));
}

arrow::Result<int64_t> ParseInteger(const std::string& name, const std::string& text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return arrow::Status::Invalid("\"", name, "\" must be an integer, not \"", text, "\"");
  }
  return value;
}

arrow::Result<int64_t> ParseUnitDuration(std::string_view text, std::span<const DurationUnit> units,
                                         std::string_view examples, std::string_view unit_names) {
  if (text.empty()) return arrow::Status::Invalid("empty duration");
  double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t number_end = i;
    while (number_end < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[number_end])) || text[number_end] == '.')) {
      ++number_end;
    }
    double number = 0;
    auto [end, ec] = std::from_chars(text.data() + i, text.data() + number_end, number);
    if (number_end == i || ec != std::errc() || end != text.data() + number_end) {
      return arrow::Status::Invalid("\"", text, "\" is no duration (", examples, ")");
    }
    size_t unit_end = number_end;
    while (unit_end < text.size() && !std::isdigit(static_cast<unsigned char>(text[unit_end])) &&
           text[unit_end] != '.') {
      ++unit_end;
    }
    const std::string_view unit = text.substr(number_end, unit_end - number_end);
    const auto found = std::find_if(units.begin(), units.end(), [&](const DurationUnit& u) { return u.name == unit; });
    if (found == units.end()) {
      return arrow::Status::Invalid("\"", text, "\": unit \"", unit, "\" is none of ", unit_names);
    }
    total += number * found->nanos;
    // Checked as it grows (it only grows), so no sum of parts overflows a double into inf first.
    if (total > 9.2e18) return arrow::Status::Invalid("\"", text, "\" is too long");
    i = unit_end;
  }
  return static_cast<int64_t>(total);
}

arrow::Result<int64_t> ParseGoDuration(std::string_view text) {
  static constexpr DurationUnit kUnits[] = {{"ns", 1},  {"us", 1e3}, {"µs", 1e3},  {"ms", 1e6},
                                            {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  return ParseUnitDuration(text, kUnits, "300ms, 1.5s, 2m, 1h", "ns, us, ms, s, m, h");
}

std::string TimeRange::Sql() const {
  std::string sql;
  if (start_ns) sql += fmt::format(" AND epoch_ns(Timestamp) >= {}", *start_ns);
  if (end_ns) sql += fmt::format(" AND epoch_ns(Timestamp) < {}", *end_ns);
  return sql;
}

arrow::Result<TimeRange> ParseTimeRange(const std::map<std::string, std::string>& parameters, int64_t nanos_per_unit,
                                        const char* unit_name) {
  // The largest count whose nanoseconds, one unit more (the inclusive end), fit an int64.
  const int64_t max_units = std::numeric_limits<int64_t>::max() / nanos_per_unit - 1;
  TimeRange range;
  for (auto [name, slot] : {std::pair{"start", &range.start_ns}, std::pair{"end", &range.end_ns}}) {
    auto it = parameters.find(name);
    if (it == parameters.end() || it->second.empty()) continue;
    ARROW_ASSIGN_OR_RAISE(int64_t units, ParseInteger(name, it->second));
    if (units < 0 || units > max_units) {
      return arrow::Status::Invalid("\"", name, "\" is Unix ", unit_name, ", not ", units);
    }
    *slot = units * nanos_per_unit;
  }
  if (range.end_ns) *range.end_ns += nanos_per_unit;
  if (range.start_ns && range.end_ns && *range.start_ns >= *range.end_ns) {
    return arrow::Status::Invalid("\"start\" must not be after \"end\"");
  }
  return range;
}

arrow::Result<QueryResult> RunInRange(QueryEngine* engine, const std::string& tenant, std::string sql,
                                      const TimeRange& range, int64_t limit) {
  QueryRequest request;
  request.sql = std::move(sql);
  request.start_ns = range.start_ns;
  request.end_ns = range.end_ns;
  request.limit = limit;
  return engine->Run(tenant, request);
}

arrow::Result<QueryResult> RunTraceById(QueryEngine* engine, const std::string& tenant, std::string_view trace_id,
                                        const TimeRange& range) {
  return RunInRange(engine, tenant,
                    fmt::format("SELECT {} FROM spans WHERE TraceId = from_hex('{}'){} ORDER BY Timestamp, SpanId",
                                kTraceColumns, Hex(trace_id), range.Sql()),
                    range);
}

std::vector<std::string> ColumnText(const QueryRows& rows, int c) {
  std::vector<std::string> values;
  for (const auto& batch : rows.batches) {
    for (int64_t i = 0; i < batch->num_rows(); ++i) values.emplace_back(cells::Bytes(*batch->column(c), i));
  }
  return values;
}

SearchRoute GetRoute(QueryEngine* engine, std::string path, CompatHandler handle) {
  return SearchRoute{"GET", std::move(path), [engine, handle](const std::string& tenant, const HttpRequest& request) {
                       return handle(engine, tenant, request);
                     }};
}

}  // namespace openwit::search
