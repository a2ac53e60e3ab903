#pragma once
// What the compatible APIs share (Tempo's, Jaeger's: other tools' HTTP APIs answered from the
// lake's tables): request values as SQL text, their parameters, their time range, and reading a
// result column back.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/result.h>

#include "common/http_server.h"
#include "search/query_engine.h"
#include "search/search_route.h"

namespace openwit::search {

// A SQL string literal of `text` (quotes doubled, NULs left out): request values reach the SQL
// only so.
std::string SqlString(std::string_view text);

// The span condition "attribute `key` of the span, or of its resource, is `value`".
std::string AttributeCondition(const std::string& key, const std::string& value);

// A decimal integer parameter; Invalid naming `name` otherwise.
arrow::Result<int64_t> ParseInteger(const std::string& name, const std::string& text);

// A duration in nanoseconds: numbers each followed by one of `units` ("1h30m", "1.5s"). Invalid
// naming the text and `examples` of the form, or the unit and `unit_names`.
struct DurationUnit {
  std::string_view name;
  double nanos;
};
arrow::Result<int64_t> ParseUnitDuration(std::string_view text, std::span<const DurationUnit> units,
                                         std::string_view examples, std::string_view unit_names);

// A Go duration ("300ms", "1.5s", "2m", "1h30m", "250us", "10ns") in nanoseconds.
arrow::Result<int64_t> ParseGoDuration(std::string_view text);

// The time range of a request: [start_ns, end_ns), either optional.
struct TimeRange {
  std::optional<int64_t> start_ns, end_ns;

  // " AND ..." bounding the spans' Timestamp, or "".
  std::string Sql() const;
};

// The parameters "start" and "end" counted in `nanos_per_unit` since the epoch (Tempo: seconds,
// Jaeger: microseconds), both optional. The end is inclusive at that precision, as both APIs
// read it. Invalid naming the parameter otherwise, or when start is after end.
arrow::Result<TimeRange> ParseTimeRange(const std::map<std::string, std::string>& parameters, int64_t nanos_per_unit,
                                        const char* unit_name);

// Runs `sql` for the tenant, with `range` pruning the files read.
arrow::Result<QueryResult> RunInRange(QueryEngine* engine, const std::string& tenant, std::string sql,
                                      const TimeRange& range, int64_t limit = 0);

// The spans of the trace `trace_id` (its 16 bytes) within `range`: the columns kTraceColumns
// (trace_view.h), by start time.
arrow::Result<QueryResult> RunTraceById(QueryEngine* engine, const std::string& tenant, std::string_view trace_id,
                                        const TimeRange& range);

// The values of column `c` of every row, as text.
std::vector<std::string> ColumnText(const QueryRows& rows, int c);

// An endpoint of a compatible API: GET `path`, answered by handle(engine, tenant, request).
using CompatHandler = HttpResponse (*)(QueryEngine* engine, const std::string& tenant, const HttpRequest& request);
SearchRoute GetRoute(QueryEngine* engine, std::string path, CompatHandler handle);

}  // namespace openwit::search
