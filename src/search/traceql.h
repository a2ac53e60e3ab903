#pragma once
// The TraceQL subset of Tempo's search (`/tempo/api/search?q=`), what Grafana's Tempo data source
// sends from its search builder and its TraceQL editor, as SQL over the lake's spans table.
//
//   query      := spanset ( ("&&" | "||") spanset )*        a trace with a span of each (&&), of either (||)
//   spanset    := "{" [ condition ] "}"                      {} is every trace
//   condition  := term ( ("&&" | "||") term )*, "(" condition ")", "!" "(" condition ")"
//   term       := field op value
//   field      := name | status | kind | duration | statusMessage   (also span:name, span:status, ...)
//               | resource.KEY | span.KEY | .KEY                    (.KEY: the span's or its resource's)
//   op         := = != > >= < <= =~ !~                          (=~ and !~ match the whole value, RE2)
//   value      := "string" | `string` | number | duration (100ms, 1.5s, 2m, 1h) | true | false | nil
//               | ok | error | unset | server | client | producer | consumer | internal | unspecified
//
// resource.service.name is the ServiceName column. Attributes are kept as text in the lake: a number
// compares with the attribute read as a number, a string as text; `!= nil` asks that it exists.
// Anything else (pipelines `| count()`, structural operators `>>`, trace intrinsics such as
// traceDuration, events and links, field-to-field comparisons) is refused naming what and where.

#include <string>
#include <string_view>

#include <arrow/result.h>

namespace openwit::search {

struct TraceQlSql {
  std::string having;   // a trace matches: over bool_or() of span conditions, for GROUP BY TraceId
  std::string matched;  // a span is one of the matched spans (of any spanset): for FILTER (WHERE ...)
};

// Invalid with "TraceQL: <what> at column N" when `query` is outside the subset.
arrow::Result<TraceQlSql> TraceQlToSql(std::string_view query);

}  // namespace openwit::search
