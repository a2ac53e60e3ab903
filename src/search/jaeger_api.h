#pragma once
// Grafana's Jaeger data source (and the Jaeger UI) pointed at http://HOST:PORT/jaeger: the parts of
// Jaeger's query API (jaeger-query's /api/...) they call, answered from the lake's spans table.
//
//   GET /jaeger/api/services                       service names
//   GET /jaeger/api/services/{service}/operations  the span names of a service
//   GET /jaeger/api/operations?service=&spanKind=  [{"name", "spanKind"}] of a service (the UI's)
//   GET /jaeger/api/traces?service=&operation=&tags=&minDuration=&maxDuration=&limit=&start=&end=
//                                                  traces with a span that matches every condition:
//                                                  service (required, as Jaeger's), operation (its
//                                                  name), tags (a JSON object: {"http.status_code":
//                                                  "500"}), minDuration/maxDuration (Go durations,
//                                                  of that span), start/end (Unix microseconds, of
//                                                  its start); limit traces (default 100), newest
//                                                  first, each with all its spans
//   GET /jaeger/api/traces/{id}                    the trace; 404 when no span has that id
//
// Every answer is Jaeger's envelope: {"data": ..., "total", "limit", "offset", "errors": null}, and
// every error {"data": null, "errors": [{"code": status, "msg": ...}]} with that HTTP status.
//
// A trace is Jaeger's JSON model (jaeger's model/json) as OpenTelemetry's Jaeger translator
// writes it from OTLP: a resource is a process (serviceName, its other attributes as tags); the
// span kind, status, status message, trace state and scope become the tags span.kind,
// otel.status_code (and error=true), otel.status_description, w3c.tracestate, otel.scope.name and
// otel.scope.version; events become logs (their name as the field "event"); the parent is a
// CHILD_OF reference and links are FOLLOWS_FROM. Attribute tags are of type "string": the lake
// keeps a non-string value as its text (trace_view.h).
//
// Tags in a search: span.kind, otel.status_code, otel.status_description, error (true: the status
// is an error), otel.scope.name, otel.scope.version and w3c.tracestate match what the span's tags
// of those names say; any tag also matches a span or resource attribute of that key and value.

#include <vector>

#include "search/query_engine.h"
#include "search/search_route.h"

namespace openwit::search {

std::vector<SearchRoute> JaegerRoutes(QueryEngine* engine);

}  // namespace openwit::search
