#pragma once
// Grafana's Loki data source pointed at http://HOST:PORT/loki: the parts of Loki's HTTP API it
// calls, answered from the lake's logs table with OpenWit's LogQL subset (logql.h).
//
//   GET|POST /loki/api/v1/query_range   query, start, end (Unix ns, Unix s, float s or RFC 3339;
//                                       default end now, start end - since, since 1h), limit (100),
//                                       direction (backward, forward), step (5m, 15s, 1000ms or
//                                       float seconds; default (end - start) / 250, at least 1 s).
//                                       A log query answers "streams", a metric query "matrix".
//   GET|POST /loki/api/v1/query         an instant metric query at `time` (default now): "vector"
//                                       (the health check vector(1)+vector(1) answers 2); a log
//                                       query is refused, as Loki refuses it.
//   GET|POST /loki/api/v1/labels        label names (start, end, since 6h, query: a selector)
//   GET|POST /loki/api/v1/label/{name}/values   a label's values (start, end, since, query)
//   GET|POST /loki/api/v1/series        label sets of the streams (match[]: selectors, any number)
//   GET|POST /loki/api/v1/index/stats   streams, entries and bytes of a selector (the query editor's
//                                       estimate; chunks is 0)
//
// A stream's labels: service_name, level (logql.h) and the resource attributes (key characters
// other than [A-Za-z0-9_] as "_"); its lines are the Body, with their timestamps in nanoseconds.
// A metric query evaluates at start, start + step, ... up to end (at most 11000 points); the value
// at t counts the lines in (t - range, t] (rate: per second). Errors are Loki's:
// {"status": "error", "code": N, "message": ...}, 400 for a query outside the subset naming what
// and where, and the query bounds' 408, 422, 503.

#include <vector>

#include "search/query_engine.h"
#include "search/search_route.h"

namespace openwit::search {

std::vector<SearchRoute> LokiRoutes(QueryEngine* engine);

// A time parameter as Loki reads it: Unix nanoseconds (more than 10 digits) or seconds, float
// seconds, or RFC 3339.
arrow::Result<int64_t> ParseLokiTime(const std::string& text);

}  // namespace openwit::search
