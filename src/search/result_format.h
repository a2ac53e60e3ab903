#pragma once
// A query's answer as the search API sends it: JSON (columns with types, rows, stats) or an Arrow
// IPC stream.
//
// JSON values: numbers and booleans as themselves; strings; timestamps as RFC 3339 text in UTC
// with every digit their unit has ("2023-11-14T22:13:20.123456Z"); dates "YYYY-MM-DD"; binary
// (TraceId, SpanId) as lowercase hex; lists as arrays; structs and maps as objects; decimals and
// anything else as their text; null as null.

#include <string>

#include <arrow/result.h>
#include <nlohmann/json.hpp>

#include "search/query_engine.h"

namespace openwit::search {

nlohmann::json StatsJson(const QueryStats& stats, const QueryRows& rows);

// {"columns": [{"name", "type"}], "rows": [[...]], "truncated": bool, "stats": {...}}
arrow::Result<std::string> ResultJson(const QueryResult& result);

// The rows as an Arrow IPC stream (schema, then the batches).
arrow::Result<std::string> ResultArrowStream(const QueryResult& result);

}  // namespace openwit::search
