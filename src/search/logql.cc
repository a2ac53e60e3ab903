#include "search/logql.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "search/compat_api.h"

namespace openwit::search::logql {
namespace {

constexpr const char* kSubset =
    "OpenWit's LogQL subset: stream selectors, line filters, label filters, drop, count_over_time, rate, sum, "
    "vector";

// LogQL's words that are not in the subset, so that the error names them.
const std::vector<std::string_view> kUnsupportedStages = {
    "json", "logfmt", "pattern",    "regexp",   "unpack", "line_format",  "label_format",
    "keep", "unwrap", "decolorize", "distinct", "ip",     "label_replace"};
const std::vector<std::string_view> kUnsupportedFunctions = {"avg",
                                                             "min",
                                                             "max",
                                                             "count",
                                                             "stddev",
                                                             "stdvar",
                                                             "topk",
                                                             "bottomk",
                                                             "sort",
                                                             "sort_desc",
                                                             "bytes_over_time",
                                                             "bytes_rate",
                                                             "sum_over_time",
                                                             "avg_over_time",
                                                             "max_over_time",
                                                             "min_over_time",
                                                             "first_over_time",
                                                             "last_over_time",
                                                             "absent_over_time",
                                                             "quantile_over_time",
                                                             "stddev_over_time",
                                                             "stdvar_over_time",
                                                             "rate_counter",
                                                             "label_replace",
                                                             "absent",
                                                             "approx_topk"};

enum class Tok { kEnd, kIdent, kString, kNumber, kPunct };

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // an identifier, a string's value, a number's or a punctuation's text
  Position position;
  size_t offset = 0;
};

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  arrow::Result<Query> ParseQuery() {
    ARROW_RETURN_NOT_OK(Next());
    Query query;
    if (Is("{")) {
      ARROW_ASSIGN_OR_RAISE(query.log, ParseLogExpr(/*allow_range=*/false, nullptr));
    } else {
      ARROW_ASSIGN_OR_RAISE(query.metric, ParseAdditive(0));
    }
    if (token_.kind != Tok::kEnd) return Unexpected();
    return query;
  }

 private:
  // ---- lexer --------------------------------------------------------------------------------

  Position Here() const { return {line_, static_cast<int>(offset_ - line_start_) + 1}; }

  void Advance(size_t n) {
    for (size_t i = 0; i < n && offset_ < text_.size(); ++i) {
      if (text_[offset_++] == '\n') {
        ++line_;
        line_start_ = offset_;
      }
    }
  }

  arrow::Status Next() {
    while (offset_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[offset_]))) Advance(1);
    token_ = Token{};
    token_.position = Here();
    token_.offset = offset_;
    if (offset_ >= text_.size()) return arrow::Status::OK();
    const char c = text_[offset_];
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t end = offset_;
      while (end < text_.size() &&
             (std::isalnum(static_cast<unsigned char>(text_[end])) || text_[end] == '_' || text_[end] == ':')) {
        ++end;
      }
      token_.kind = Tok::kIdent;
      token_.text = std::string(text_.substr(offset_, end - offset_));
      Advance(end - offset_);
      return arrow::Status::OK();
    }
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && offset_ + 1 < text_.size() && std::isdigit(static_cast<unsigned char>(text_[offset_ + 1])))) {
      size_t end = offset_;
      while (end < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[end])) || text_[end] == '.')) ++end;
      token_.kind = Tok::kNumber;
      token_.text = std::string(text_.substr(offset_, end - offset_));
      Advance(end - offset_);
      return arrow::Status::OK();
    }
    if (c == '"' || c == '`') return LexString(c);
    static const std::string_view kPuncts[] = {"!=", "=~", "!~", "|=", "|~", "==", ">=", "<=", "{", "}", "(", ")", "[",
                                               "]",  ",",  "|",  "=",  "+",  "-",  "*",  "/",  ">", "<", "%", "^", "!"};
    for (std::string_view p : kPuncts) {
      if (text_.substr(offset_, p.size()) == p) {
        token_.kind = Tok::kPunct;
        token_.text = std::string(p);
        Advance(p.size());
        return arrow::Status::OK();
      }
    }
    return Error(token_.position, fmt::format("unexpected character '{}'", PrintableChar(c)));
  }

  static std::string PrintableChar(char c) {
    if (std::isprint(static_cast<unsigned char>(c))) return std::string(1, c);
    return fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
  }

  // A "..." string with Go's escapes, or a `...` raw string.
  arrow::Status LexString(char quote) {
    const Position start = Here();
    Advance(1);
    std::string value;
    while (true) {
      if (offset_ >= text_.size()) return Error(start, "a string without its closing quote");
      const char c = text_[offset_];
      if (c == quote) {
        Advance(1);
        break;
      }
      if (quote == '"' && c == '\n') return Error(start, "a string without its closing quote");
      if (quote == '"' && c == '\\') {
        if (offset_ + 1 >= text_.size()) return Error(start, "a string without its closing quote");
        const char e = text_[offset_ + 1];
        static const std::string_view kFrom = "abfnrtv\\\"'", kTo = "\a\b\f\n\r\t\v\\\"'";
        const size_t k = kFrom.find(e);
        if (k == std::string_view::npos) {
          return Error(Here(), fmt::format("unsupported escape \\{} in a string", PrintableChar(e)));
        }
        value.push_back(kTo[k]);
        Advance(2);
        continue;
      }
      value.push_back(c);
      Advance(1);
    }
    token_.kind = Tok::kString;
    token_.text = std::move(value);
    return arrow::Status::OK();
  }

  // ---- helpers ------------------------------------------------------------------------------

  bool Is(std::string_view punct) const { return token_.kind == Tok::kPunct && token_.text == punct; }
  bool IsWord(std::string_view word) const { return token_.kind == Tok::kIdent && token_.text == word; }

  static arrow::Status Error(Position position, std::string_view message) {
    return arrow::Status::Invalid(ErrorAt(position, message));
  }

  std::string Describe() const {
    switch (token_.kind) {
      case Tok::kEnd:
        return "the end of the query";
      case Tok::kString:
        return fmt::format("the string \"{}\"", token_.text);
      case Tok::kNumber:
        return fmt::format("the number {}", token_.text);
      default:
        return fmt::format("\"{}\"", token_.text);
    }
  }

  arrow::Status Unexpected(std::string_view wanted = "") const {
    if (token_.kind == Tok::kIdent) {
      if (std::find(kUnsupportedFunctions.begin(), kUnsupportedFunctions.end(), token_.text) !=
              kUnsupportedFunctions.end() ||
          token_.text == "without" || token_.text == "offset" || token_.text == "or" || token_.text == "unless" ||
          token_.text == "bool" || token_.text == "on" || token_.text == "ignoring") {
        return Error(token_.position, fmt::format("{} is not supported ({})", token_.text, kSubset));
      }
    }
    if (wanted.empty()) return Error(token_.position, fmt::format("syntax error: unexpected {}", Describe()));
    return Error(token_.position, fmt::format("syntax error: unexpected {}, expecting {}", Describe(), wanted));
  }

  arrow::Status Expect(std::string_view punct) {
    if (!Is(punct)) return Unexpected(fmt::format("\"{}\"", punct));
    return Next();
  }

  arrow::Result<std::string> ExpectIdent(std::string_view what) {
    if (token_.kind != Tok::kIdent) return Unexpected(what);
    std::string name = token_.text;
    ARROW_RETURN_NOT_OK(Next());
    return name;
  }

  arrow::Result<std::string> ExpectString() {
    if (token_.kind != Tok::kString) return Unexpected("a string");
    std::string value = token_.text;
    ARROW_RETURN_NOT_OK(Next());
    return value;
  }

  arrow::Result<double> ExpectNumber() {
    if (token_.kind != Tok::kNumber) return Unexpected("a number");
    double value = 0;
    auto [end, ec] = std::from_chars(token_.text.data(), token_.text.data() + token_.text.size(), value);
    if (ec != std::errc() || end != token_.text.data() + token_.text.size() || !std::isfinite(value)) {
      return Error(token_.position, fmt::format("\"{}\" is not a number", token_.text));
    }
    ARROW_RETURN_NOT_OK(Next());
    return value;
  }

  arrow::Status Enter(Position position) {
    if (++depth_ > kMaxDepth) {
      return Error(position, fmt::format("the query nests more than {} levels deep", kMaxDepth));
    }
    return arrow::Status::OK();
  }

  // ---- log expressions ----------------------------------------------------------------------

  arrow::Result<LogSelector> ParseSelector() {
    const Position open = token_.position;
    ARROW_RETURN_NOT_OK(Expect("{"));
    LogSelector selector;
    while (!Is("}")) {
      if (!selector.matchers.empty()) ARROW_RETURN_NOT_OK(Expect(","));
      LabelMatcher m;
      ARROW_ASSIGN_OR_RAISE(m.name, ExpectIdent("a label name"));
      if (Is("=")) {
        m.op = MatchOp::kEqual;
      } else if (Is("!=")) {
        m.op = MatchOp::kNotEqual;
      } else if (Is("=~")) {
        m.op = MatchOp::kRegex;
      } else if (Is("!~")) {
        m.op = MatchOp::kNotRegex;
      } else {
        return Unexpected("=, !=, =~ or !~");
      }
      ARROW_RETURN_NOT_OK(Next());
      m.position = token_.position;
      ARROW_ASSIGN_OR_RAISE(m.value, ExpectString());
      selector.matchers.push_back(std::move(m));
    }
    if (selector.matchers.empty()) {
      return Error(open, "a stream selector needs at least one label matcher, as {service_name=\"api\"}");
    }
    ARROW_RETURN_NOT_OK(Next());
    return selector;
  }

  // `| name op value (, | and) ...`, the "|" read already.
  arrow::Status ParseLabelFilters(LogSelector* selector) {
    while (true) {
      LabelFilter f;
      f.position = token_.position;
      ARROW_ASSIGN_OR_RAISE(f.name, ExpectIdent("a label name"));
      static const std::vector<std::string_view> kOps = {"=", "!=", "=~", "!~", "==", ">", ">=", "<", "<="};
      if (token_.kind != Tok::kPunct || std::find(kOps.begin(), kOps.end(), token_.text) == kOps.end()) {
        return Unexpected("=, !=, =~, !~, ==, >, >=, < or <=");
      }
      f.op = token_.text;
      ARROW_RETURN_NOT_OK(Next());
      if (token_.kind == Tok::kNumber && f.op != "=~" && f.op != "!~") {
        f.numeric = true;
        f.position = token_.position;
        ARROW_ASSIGN_OR_RAISE(double number, ExpectNumber());
        f.value = fmt::format("{}", number);
      } else if (token_.kind == Tok::kString && f.op != "==" && f.op[0] != '>' && f.op[0] != '<') {
        f.position = token_.position;
        ARROW_ASSIGN_OR_RAISE(f.value, ExpectString());
      } else {
        return Unexpected(f.op == "=~" || f.op == "!~" ? "a string" : "a string or a number");
      }
      selector->label_filters.push_back(std::move(f));
      if (Is(",") || IsWord("and")) {
        ARROW_RETURN_NOT_OK(Next());
        continue;
      }
      return arrow::Status::OK();
    }
  }

  // A selector and its pipeline; `range_ns` (when allowed) receives a [range] after the selector
  // or after the pipeline.
  arrow::Result<LogSelector> ParseLogExpr(bool allow_range, int64_t* range_ns) {
    ARROW_ASSIGN_OR_RAISE(LogSelector selector, ParseSelector());
    bool have_range = false;
    while (true) {
      if (Is("[")) {
        if (!allow_range) {
          return Error(token_.position,
                       "a range [5m] goes only inside a range aggregation, as count_over_time({...} [5m])");
        }
        if (have_range) return Unexpected();
        ARROW_ASSIGN_OR_RAISE(*range_ns, ParseRange());
        have_range = true;
        continue;
      }
      if (Is("|=") || Is("!=") || Is("|~") || Is("!~")) {
        LineFilter f;
        f.op = Is("|=")   ? LineOp::kContains
               : Is("!=") ? LineOp::kNotContains
               : Is("|~") ? LineOp::kRegex
                          : LineOp::kNotRegex;
        ARROW_RETURN_NOT_OK(Next());
        f.position = token_.position;
        if (IsWord("ip")) return Error(token_.position, fmt::format("ip() is not supported ({})", kSubset));
        ARROW_ASSIGN_OR_RAISE(f.text, ExpectString());
        if (IsWord("or"))
          return Error(token_.position, fmt::format("or in a line filter is not supported ({})", kSubset));
        selector.line_filters.push_back(std::move(f));
        continue;
      }
      if (Is("|")) {
        ARROW_RETURN_NOT_OK(Next());
        if (token_.kind == Tok::kIdent &&
            std::find(kUnsupportedStages.begin(), kUnsupportedStages.end(), token_.text) != kUnsupportedStages.end()) {
          return Error(token_.position, fmt::format("{} is not supported ({})", token_.text, kSubset));
        }
        if (IsWord("drop")) {
          ARROW_RETURN_NOT_OK(Next());
          while (true) {
            ARROW_ASSIGN_OR_RAISE(std::string name, ExpectIdent("a label name"));
            if (Is("=") || Is("=~") || Is("!=") || Is("!~")) {
              return Error(token_.position, fmt::format("drop with a matcher is not supported ({})", kSubset));
            }
            selector.dropped.push_back(std::move(name));
            if (!Is(",")) break;
            ARROW_RETURN_NOT_OK(Next());
          }
          continue;
        }
        ARROW_RETURN_NOT_OK(ParseLabelFilters(&selector));
        continue;
      }
      break;
    }
    if (allow_range && !have_range) return Unexpected("a range such as [5m]");
    return selector;
  }

  arrow::Result<int64_t> ParseRange() {
    ARROW_RETURN_NOT_OK(Expect("["));
    // The duration is one number token with its units (5m, 1h30m): read to the "]".
    const Position at = token_.position;
    std::string text;
    while (token_.kind == Tok::kNumber || token_.kind == Tok::kIdent) {
      text += token_.text;
      ARROW_RETURN_NOT_OK(Next());
    }
    if (text.empty()) return Unexpected("a duration such as 5m");
    auto nanos = ParseDuration(text);
    if (!nanos.ok()) return Error(at, nanos.status().message());
    if (*nanos <= 0) return Error(at, "the range must be positive");
    ARROW_RETURN_NOT_OK(Expect("]"));
    if (IsWord("offset")) return Unexpected();
    return *nanos;
  }

  // ---- metric expressions -------------------------------------------------------------------

  arrow::Result<std::shared_ptr<const MetricExpr>> ParseAdditive(int depth) {
    ARROW_ASSIGN_OR_RAISE(auto left, ParseMultiplicative(depth));
    while (Is("+") || Is("-")) {
      ARROW_ASSIGN_OR_RAISE(left, ParseBinaryRest(left, depth, /*additive=*/true));
    }
    if (Is("==") || Is("!=") || Is(">") || Is(">=") || Is("<") || Is("<=") || Is("%") || Is("^") || IsWord("and") ||
        IsWord("or") || IsWord("unless")) {
      return Error(token_.position, fmt::format("the operator {} is not supported ({})", token_.text, kSubset));
    }
    return left;
  }

  arrow::Result<std::shared_ptr<const MetricExpr>> ParseMultiplicative(int depth) {
    ARROW_ASSIGN_OR_RAISE(auto left, ParsePrimary(depth));
    while (Is("*") || Is("/")) {
      ARROW_ASSIGN_OR_RAISE(left, ParseBinaryRest(left, depth, /*additive=*/false));
    }
    return left;
  }

  // `left op right`, the operator current; one side a constant, or both.
  arrow::Result<std::shared_ptr<const MetricExpr>> ParseBinaryRest(std::shared_ptr<const MetricExpr> left, int depth,
                                                                   bool additive) {
    const Position at = token_.position;
    auto expr = std::make_shared<MetricExpr>();
    expr->kind = MetricExpr::Kind::kBinary;
    expr->op = token_.text[0];
    ARROW_RETURN_NOT_OK(Next());
    ARROW_RETURN_NOT_OK(Enter(at));
    std::shared_ptr<const MetricExpr> right;
    if (additive) {
      ARROW_ASSIGN_OR_RAISE(right, ParseMultiplicative(depth + 1));
    } else {
      ARROW_ASSIGN_OR_RAISE(right, ParsePrimary(depth + 1));
    }
    --depth_;
    const bool left_constant = left->kind == MetricExpr::Kind::kConstant;
    const bool right_constant = right->kind == MetricExpr::Kind::kConstant;
    if (left_constant && right_constant) {
      // Folded: vector(1)+vector(1) is vector(2).
      auto folded = std::make_shared<MetricExpr>();
      folded->kind = MetricExpr::Kind::kConstant;
      folded->scalar = left->scalar && right->scalar;
      folded->constant = Apply(expr->op, left->constant, right->constant);
      return folded;
    }
    if (!(right_constant && right->scalar) && !(left_constant && left->scalar)) {
      return Error(at, fmt::format("the operator {} between two series is not supported; one side must be a number "
                                   "({})",
                                   expr->op, kSubset));
    }
    expr->children = {std::move(left), std::move(right)};
    return std::shared_ptr<const MetricExpr>(std::move(expr));
  }

  arrow::Result<std::shared_ptr<const MetricExpr>> ParsePrimary(int depth) {
    const Position at = token_.position;
    ARROW_RETURN_NOT_OK(Enter(at));
    ARROW_ASSIGN_OR_RAISE(auto expr, ParsePrimaryEntered(depth));
    --depth_;
    return expr;
  }

  arrow::Result<std::shared_ptr<const MetricExpr>> ParsePrimaryEntered(int depth) {
    auto expr = std::make_shared<MetricExpr>();
    if (token_.kind == Tok::kNumber) {
      expr->kind = MetricExpr::Kind::kConstant;
      expr->scalar = true;
      ARROW_ASSIGN_OR_RAISE(expr->constant, ExpectNumber());
      return std::shared_ptr<const MetricExpr>(std::move(expr));
    }
    if (Is("(")) {
      ARROW_RETURN_NOT_OK(Next());
      ARROW_ASSIGN_OR_RAISE(auto inner, ParseAdditive(depth + 1));
      ARROW_RETURN_NOT_OK(Expect(")"));
      return inner;
    }
    if (Is("{")) {
      return Error(token_.position,
                   "a log query cannot be part of a metric query: count it, as count_over_time({...} [5m])");
    }
    if (token_.kind != Tok::kIdent) return Unexpected("a metric query");
    const std::string word = token_.text;
    if (word == "vector") {
      ARROW_RETURN_NOT_OK(Next());
      ARROW_RETURN_NOT_OK(Expect("("));
      expr->kind = MetricExpr::Kind::kConstant;
      ARROW_ASSIGN_OR_RAISE(expr->constant, ExpectNumber());
      ARROW_RETURN_NOT_OK(Expect(")"));
      return std::shared_ptr<const MetricExpr>(std::move(expr));
    }
    if (word == "count_over_time" || word == "rate") {
      ARROW_RETURN_NOT_OK(Next());
      ARROW_RETURN_NOT_OK(Expect("("));
      expr->kind = MetricExpr::Kind::kRangeAggregation;
      expr->rate = word == "rate";
      ARROW_ASSIGN_OR_RAISE(expr->selector, ParseLogExpr(/*allow_range=*/true, &expr->range_ns));
      ARROW_RETURN_NOT_OK(Expect(")"));
      if (IsWord("by") || IsWord("without")) {
        return Error(token_.position, fmt::format("{} after {}() is not supported ({})", token_.text, word, kSubset));
      }
      return std::shared_ptr<const MetricExpr>(std::move(expr));
    }
    if (word == "sum") {
      ARROW_RETURN_NOT_OK(Next());
      expr->kind = MetricExpr::Kind::kSum;
      if (IsWord("by")) ARROW_RETURN_NOT_OK(ParseGrouping(expr.get()));
      if (IsWord("without")) return Unexpected();
      ARROW_RETURN_NOT_OK(Expect("("));
      ARROW_ASSIGN_OR_RAISE(auto inner, ParseAdditive(depth + 1));
      ARROW_RETURN_NOT_OK(Expect(")"));
      if (IsWord("by")) {
        if (expr->grouped) return Unexpected();
        ARROW_RETURN_NOT_OK(ParseGrouping(expr.get()));
      }
      if (IsWord("without")) return Unexpected();
      expr->children = {std::move(inner)};
      return std::shared_ptr<const MetricExpr>(std::move(expr));
    }
    return Unexpected("a metric query (count_over_time, rate, sum, vector)");
  }

  // `by (a, b)`, "by" current.
  arrow::Status ParseGrouping(MetricExpr* expr) {
    ARROW_RETURN_NOT_OK(Next());
    ARROW_RETURN_NOT_OK(Expect("("));
    expr->grouped = true;
    while (!Is(")")) {
      if (!expr->by.empty()) ARROW_RETURN_NOT_OK(Expect(","));
      ARROW_ASSIGN_OR_RAISE(std::string name, ExpectIdent("a label name"));
      expr->by.push_back(std::move(name));
    }
    return Next();
  }

  static double Apply(char op, double a, double b) {
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

  std::string_view text_;
  size_t offset_ = 0;
  int line_ = 1;
  size_t line_start_ = 0;
  int depth_ = 0;
  Token token_;
};

void CollectRegexes(const LogSelector& selector, std::vector<std::pair<std::string, Position>>* out) {
  for (const auto& m : selector.matchers) {
    if (m.op == MatchOp::kRegex || m.op == MatchOp::kNotRegex) out->emplace_back(m.value, m.position);
  }
  for (const auto& f : selector.line_filters) {
    if (f.op == LineOp::kRegex || f.op == LineOp::kNotRegex) out->emplace_back(f.text, f.position);
  }
  for (const auto& f : selector.label_filters) {
    if (f.op == "=~" || f.op == "!~") out->emplace_back(f.value, f.position);
  }
}

void CollectRegexes(const MetricExpr& expr, std::vector<std::pair<std::string, Position>>* out) {
  if (expr.kind == MetricExpr::Kind::kRangeAggregation) CollectRegexes(expr.selector, out);
  for (const auto& child : expr.children) CollectRegexes(*child, out);
}

// An attribute of map column `column` named `name` as Loki names keys (LabelName), or NULL.
std::string AttributeSql(const char* column, const std::string& name) {
  if (name.find('_') == std::string::npos) return fmt::format("{}[{}]", column, SqlString(name));
  // A name with "_" may come from a key with ".", "-", "/": the key itself first.
  return fmt::format(
      "coalesce({0}[{1}], list_filter(map_entries({0}), lambda e: regexp_replace(e.key, '[^A-Za-z0-9_]', '_', 'g') "
      "= {1})[1].value)",
      column, SqlString(name));
}

std::string StringCondition(const std::string& expr, MatchOp op, const std::string& value, bool anchored,
                            bool case_insensitive) {
  const std::string v = case_insensitive ? "lower(" + SqlString(value) + ")" : SqlString(value);
  const std::string regex = fmt::format("{}({}, {}{})", anchored ? "regexp_full_match" : "regexp_matches", expr,
                                        SqlString(value), case_insensitive ? ", 'i'" : "");
  switch (op) {
    case MatchOp::kEqual:
      return fmt::format("{} = {}", expr, v);
    case MatchOp::kNotEqual:
      return fmt::format("{} <> {}", expr, v);
    case MatchOp::kRegex:
      return regex;
    default:
      return "NOT " + regex;
  }
}

}  // namespace

std::string ErrorAt(Position position, std::string_view message) {
  return fmt::format("parse error at line {}, col {}: {}", position.line, position.column, message);
}

arrow::Result<Query> Parse(std::string_view text) {
  if (text.size() > kMaxQueryBytes) {
    return arrow::Status::Invalid(ErrorAt({1, 1}, fmt::format("the query is longer than {} bytes", kMaxQueryBytes)));
  }
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return arrow::Status::Invalid(ErrorAt({1, 1}, "the query is empty"));
  }
  return Parser(text).ParseQuery();
}

arrow::Result<int64_t> ParseDuration(std::string_view text) {
  if (text.empty()) return arrow::Status::Invalid("empty duration");
  // Float seconds, as Loki's step takes them.
  if (text.find_first_not_of("0123456789.") == std::string_view::npos) {
    double seconds = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec != std::errc() || end != text.data() + text.size() || !(seconds >= 0) || seconds > 9.2e9) {
      return arrow::Status::Invalid("\"", text, "\" is no duration (5m, 1h30m, 500ms, 15)");
    }
    return static_cast<int64_t>(std::llround(seconds * 1e9));
  }
  static constexpr DurationUnit kUnits[] = {{"ns", 1},          {"us", 1e3},         {"µs", 1e3},   {"ms", 1e6},
                                            {"s", 1e9},         {"m", 60e9},         {"h", 3600e9}, {"d", 86400e9},
                                            {"w", 7 * 86400e9}, {"y", 365 * 86400e9}};
  return ParseUnitDuration(text, kUnits, "5m, 1h30m, 500ms, 15", "ms, s, m, h, d, w, y");
}

std::string LevelSql() {
  return "(CASE WHEN coalesce(SeverityText, '') <> '' THEN lower(SeverityText) "
         "WHEN SeverityNumber BETWEEN 1 AND 4 THEN 'trace' WHEN SeverityNumber BETWEEN 5 AND 8 THEN 'debug' "
         "WHEN SeverityNumber BETWEEN 9 AND 12 THEN 'info' WHEN SeverityNumber BETWEEN 13 AND 16 THEN 'warn' "
         "WHEN SeverityNumber BETWEEN 17 AND 20 THEN 'error' WHEN SeverityNumber BETWEEN 21 AND 24 THEN 'fatal' "
         "ELSE 'unknown' END)";
}

bool IsLevelLabel(std::string_view name) {
  return name == "level" || name == "detected_level" || name == "severity_text";
}

std::string LabelSql(const std::string& name) {
  if (name == "service_name") return "coalesce(ServiceName, '')";
  if (IsLevelLabel(name)) return LevelSql();
  return fmt::format("coalesce({}, '')", AttributeSql("ResourceAttributes", name));
}

std::string LabelName(std::string_view key) {
  std::string name(key);
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  }
  return name;
}

std::string SelectorSql(const LogSelector& selector) {
  std::vector<std::string> conditions;
  for (const auto& m : selector.matchers) {
    conditions.push_back(
        StringCondition(LabelSql(m.name), m.op, m.value, /*anchored=*/true, /*case_insensitive=*/IsLevelLabel(m.name)));
  }
  for (const auto& f : selector.line_filters) {
    const std::string body = "coalesce(Body, '')";
    switch (f.op) {
      case LineOp::kContains:
        if (!f.text.empty()) conditions.push_back(fmt::format("contains({}, {})", body, SqlString(f.text)));
        break;
      case LineOp::kNotContains:
        conditions.push_back(fmt::format("NOT contains({}, {})", body, SqlString(f.text)));
        break;
      case LineOp::kRegex:
        conditions.push_back(fmt::format("regexp_matches({}, {})", body, SqlString(f.text)));
        break;
      case LineOp::kNotRegex:
        conditions.push_back(fmt::format("NOT regexp_matches({}, {})", body, SqlString(f.text)));
        break;
    }
  }
  for (const auto& f : selector.label_filters) {
    std::string value;
    if (f.name == "service_name" || IsLevelLabel(f.name)) {
      value = LabelSql(f.name);
    } else {
      value = fmt::format("coalesce({}, {}, '')", AttributeSql("LogAttributes", f.name),
                          AttributeSql("ResourceAttributes", f.name));
    }
    if (f.numeric) {
      const std::string op = f.op == "==" ? "=" : f.op == "!=" ? "<>" : f.op;
      conditions.push_back(fmt::format("coalesce(TRY_CAST({} AS DOUBLE) {} {}, FALSE)", value, op, f.value));
      continue;
    }
    const MatchOp op = f.op == "="    ? MatchOp::kEqual
                       : f.op == "!=" ? MatchOp::kNotEqual
                       : f.op == "=~" ? MatchOp::kRegex
                                      : MatchOp::kNotRegex;
    conditions.push_back(StringCondition(value, op, f.value, /*anchored=*/true, IsLevelLabel(f.name)));
  }
  if (conditions.empty()) return "TRUE";
  std::string sql;
  for (const auto& c : conditions) sql += (sql.empty() ? "(" : " AND (") + c + ")";
  return sql;
}

std::vector<std::pair<std::string, Position>> Regexes(const Query& query) {
  std::vector<std::pair<std::string, Position>> out;
  if (query.metric) {
    CollectRegexes(*query.metric, &out);
  } else {
    CollectRegexes(query.log, &out);
  }
  return out;
}

}  // namespace openwit::search::logql
