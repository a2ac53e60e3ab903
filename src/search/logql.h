#pragma once
// OpenWit's LogQL subset (issue #13: Grafana's Loki data source): the text of a query parsed into a
// tree whose nodes keep their position, and the SQL conditions over the lake's `logs` table that the
// Loki API (loki_api.h) runs through the QueryEngine.
//
//   log query     {name="v", name!="v", name=~"re", name!~"re"}  then, chained in any order:
//                 |= "text"  != "text"  |~ "re"  !~ "re"            line filters on Body
//                 | name="v" (also != =~ !~, and > >= < <= == != a number; several joined by
//                   "," or "and")                                   filters on a label or attribute
//                 | drop name, ...                                  labels left out of the answer
//   metric query  count_over_time(LOG [5m]), rate(LOG [5m])          (the range before or after the
//                                                                   pipeline)
//                 sum(M), sum by (name, ...) (M), sum (M) by (...)
//                 M op NUMBER, vector(NUMBER), NUMBER op NUMBER     (op: + - * /; the health check
//                                                                   vector(1)+vector(1) is 2)
//
// Labels (what a matcher, a label filter and `sum by` name): service_name is the ServiceName
// column; level, detected_level and severity_text are the severity (SeverityText lower-cased, or
// from SeverityNumber when it is empty: trace, debug, info, warn, error, fatal; else "unknown"),
// compared case-insensitively; any other name is a resource attribute whose key, with every
// character other than [A-Za-z0-9_] replaced by "_" (as Loki's OTLP ingestion names them), is that
// name. A label filter also reads the log record's attributes first. An absent label is "", as in
// Loki. Label matchers' regexes are anchored (Loki's), line filters' are not; both are RE2
// (DuckDB's regexp functions).
//
// Anything else is an error "parse error at line L, col C: ..." naming what is not supported.
// Bounded: at most kMaxQueryBytes of text and kMaxDepth nested aggregations or parentheses.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/result.h>

namespace openwit::search::logql {

inline constexpr size_t kMaxQueryBytes = 64 * 1024;
inline constexpr int kMaxDepth = 32;

struct Position {
  int line = 1;
  int column = 1;
};

enum class MatchOp { kEqual, kNotEqual, kRegex, kNotRegex };

struct LabelMatcher {
  std::string name;
  MatchOp op = MatchOp::kEqual;
  std::string value;
  Position position;  // of the value (a regex's)
};

enum class LineOp { kContains, kNotContains, kRegex, kNotRegex };

struct LineFilter {
  LineOp op = LineOp::kContains;
  std::string text;
  Position position;
};

// `| name op value`: a string comparison (the MatchOp ones) or a number's (numeric set).
struct LabelFilter {
  std::string name;
  std::string op;  // "=", "!=", "=~", "!~", "==", ">", ">=", "<", "<="
  std::string value;
  bool numeric = false;
  Position position;
};

struct LogSelector {
  std::vector<LabelMatcher> matchers;
  std::vector<LineFilter> line_filters;
  std::vector<LabelFilter> label_filters;
  std::vector<std::string> dropped;  // `| drop`: labels left out of the answer
};

struct MetricExpr {
  enum class Kind { kConstant, kRangeAggregation, kSum, kBinary };
  Kind kind = Kind::kConstant;
  // kConstant: vector(x) (scalar false) or a number (scalar true).
  double constant = 0;
  bool scalar = false;
  // kRangeAggregation: count_over_time or rate of the selector over range_ns.
  bool rate = false;
  LogSelector selector;
  int64_t range_ns = 0;
  // kSum: by `by` (grouped), or into one series.
  bool grouped = false;
  std::vector<std::string> by;
  // kBinary: children[0] op children[1]; kSum: children[0].
  char op = '+';
  std::vector<std::shared_ptr<const MetricExpr>> children;
};

struct Query {
  std::shared_ptr<const MetricExpr> metric;  // null: a log query
  LogSelector log;                           // a log query's
};

// Parses `text`; errors are Invalid("parse error at line L, col C: ...").
arrow::Result<Query> Parse(std::string_view text);

// Loki's durations: Prometheus's (1h30m, 5m, 500ms, 2d, 1w, 1y), or float seconds ("1.5", "30").
arrow::Result<int64_t> ParseDuration(std::string_view text);

// ---- SQL over the logs table (values only through SqlString) ----------------------------------

// The severity label's value: never null.
std::string LevelSql();

// The value of label `name` of a row: never null ("" when absent).
std::string LabelSql(const std::string& name);

// The condition a row of `logs` meets for the selector (its matchers and pipeline filters).
std::string SelectorSql(const LogSelector& selector);

// Loki's name of a resource attribute key: every character other than [A-Za-z0-9_] as "_".
std::string LabelName(std::string_view key);

// Whether `name` is one of the severity label's names.
bool IsLevelLabel(std::string_view name);

// The regexes of the query with their positions, for naming the one DuckDB refuses.
std::vector<std::pair<std::string, Position>> Regexes(const Query& query);

// "parse error at line L, col C: message"
std::string ErrorAt(Position position, std::string_view message);

}  // namespace openwit::search::logql
