#pragma once
// Grafana's Tempo data source pointed at http://HOST:PORT/tempo: the parts of Tempo's HTTP API it
// calls, answered from the lake's spans table.
//
//   GET /tempo/api/echo                          "echo" (the data source's health check)
//   GET /tempo/api/traces/{id}                   the trace: OTLP protobuf (tempopb.Trace, which is
//   GET /tempo/api/v2/traces/{id}                OTLP's TracesData) with Accept: application/protobuf,
//                                                OTLP JSON otherwise; 404 when no span has that id.
//                                                No look-back window: every file of the tenant is a
//                                                candidate unless start/end (Unix seconds) narrow it.
//   GET /tempo/api/search                        traces by TraceQL (q=, the subset of traceql.h) or
//                                                by tags (logfmt: service.name=api name="GET /"
//                                                status.code=error http.route=/x), minDuration,
//                                                maxDuration (Go durations: 100ms, 1.5s), limit
//                                                (default 20), start, end (Unix seconds); each with
//                                                its spanSet: the first spss (3) matching spans
//   GET /tempo/api/search/tags                   tag names; /api/v2/... by scope
//   GET /tempo/api/search/tag/{name}/values      a tag's values; /api/v2/... typed
//
// Tags: service.name is the ServiceName column, name the span name, status.code the status (ok,
// error, unset); any other tag matches a span attribute or a resource attribute with that key. A
// trace matches when one of its spans matches every tag; its duration (first start to last end)
// is what minDuration and maxDuration bound.

#include <vector>

#include "search/query_engine.h"
#include "search/search_route.h"

namespace openwit::search {

std::vector<SearchRoute> TempoRoutes(QueryEngine* engine);

// Tempo's logfmt tags ("a=1 b=\"x y\"") as (key, value) pairs, in order.
arrow::Result<std::vector<std::pair<std::string, std::string>>> ParseLogfmt(std::string_view text);

}  // namespace openwit::search
