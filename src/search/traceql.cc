#include "search/traceql.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "search/compat_api.h"

namespace openwit::search {
namespace {

constexpr size_t kMaxQueryBytes = 16 * 1024;  // a builder's query is well under 1 KiB
constexpr int kMaxDepth = 32;                 // parentheses inside a spanset

enum class Tok {
  kLBrace,
  kRBrace,
  kLParen,
  kRParen,
  kAnd,
  kOr,
  kNot,
  kPipe,
  kOp,
  kString,
  kNumber,
  kDuration,
  kWord,
  kEnd
};

struct Token {
  Tok kind;
  std::string text;  // the operator, the string's value, the number's or the word's text
  size_t column;     // 1-based, of its first byte
  double number = 0;
  int64_t nanos = 0;
};

arrow::Status Error(size_t column, std::string_view what) {
  return arrow::Status::Invalid("TraceQL: ", what, " at column ", column);
}

bool IsWordByte(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' || c == '-' || c == '/';
}

arrow::Result<std::vector<Token>> Tokenize(std::string_view q) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (true) {
    while (i < q.size() && std::isspace(static_cast<unsigned char>(q[i]))) ++i;
    const size_t column = i + 1;
    if (i == q.size()) {
      tokens.push_back({Tok::kEnd, "", column});
      return tokens;
    }
    const char c = q[i];
    auto two = [&](std::string_view s) { return q.substr(i, 2) == s; };
    auto three = [&](std::string_view s) { return q.substr(i, 3) == s; };
    if (c == '{' || c == '}' || c == '(' || c == ')') {
      tokens.push_back({c == '{'   ? Tok::kLBrace
                        : c == '}' ? Tok::kRBrace
                        : c == '(' ? Tok::kLParen
                                   : Tok::kRParen,
                        std::string(1, c), column});
      ++i;
    } else if (two("&&")) {
      tokens.push_back({Tok::kAnd, "&&", column});
      i += 2;
    } else if (two("||")) {
      tokens.push_back({Tok::kOr, "||", column});
      i += 2;
    } else if (c == '|') {
      tokens.push_back({Tok::kPipe, "|", column});
      ++i;
    } else if (three("!>>") || three("!<<")) {
      tokens.push_back({Tok::kOp, std::string(q.substr(i, 3)), column});
      i += 3;
    } else if (two("=~") || two("!=") || two("!~") || two(">=") || two("<=") || two(">>") || two("<<")) {
      tokens.push_back({Tok::kOp, std::string(q.substr(i, 2)), column});
      i += 2;
    } else if (c == '=' || c == '>' || c == '<' || c == '~') {
      tokens.push_back({Tok::kOp, std::string(1, c), column});
      ++i;
    } else if (c == '!') {
      tokens.push_back({Tok::kNot, "!", column});
      ++i;
    } else if (c == '"' || c == '`') {
      std::string value;
      ++i;
      bool closed = false;
      while (i < q.size()) {
        char d = q[i++];
        if (d == c) {
          closed = true;
          break;
        }
        if (d == '\\' && c == '"' && i < q.size()) {
          char e = q[i++];
          value.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e);
        } else {
          value.push_back(d);
        }
      }
      if (!closed) return Error(column, "a string without its closing quote");
      tokens.push_back({Tok::kString, std::move(value), column});
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '-' && i + 1 < q.size() && std::isdigit(static_cast<unsigned char>(q[i + 1])))) {
      size_t end = i + 1;
      bool letters = false;
      while (end < q.size() && (std::isalnum(static_cast<unsigned char>(q[end])) || q[end] == '.' ||
                                static_cast<unsigned char>(q[end]) >= 0x80)) {
        letters = letters || !(std::isdigit(static_cast<unsigned char>(q[end])) || q[end] == '.');
        ++end;
      }
      std::string text(q.substr(i, end - i));
      Token token{letters ? Tok::kDuration : Tok::kNumber, text, column};
      if (letters) {
        if (c == '-') return Error(column, "a negative duration");
        auto nanos = ParseGoDuration(text);
        if (!nanos.ok()) return Error(column, fmt::format("\"{}\" is neither a number nor a duration", text));
        token.nanos = *nanos;
      } else {
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), token.number);
        if (ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(token.number)) {
          return Error(column, fmt::format("\"{}\" is not a number", text));
        }
      }
      tokens.push_back(std::move(token));
      i = end;
    } else if (IsWordByte(c)) {
      size_t end = i;
      while (end < q.size() && IsWordByte(q[end])) ++end;
      tokens.push_back({Tok::kWord, std::string(q.substr(i, end - i)), column});
      i = end;
    } else {
      return Error(column, fmt::format("unexpected character '{}'", c));
    }
  }
}

// What a field of a condition reads.
struct Field {
  enum Kind { kText, kEnum, kDuration, kAttribute } kind;
  std::vector<std::string> sql;          // one expression; an unscoped attribute has two (span, resource)
  std::vector<std::string> values = {};  // an enum's keywords
};

const std::vector<std::string> kStatuses = {"ok", "error", "unset"};
const std::vector<std::string> kKinds = {"unspecified", "internal", "server", "client", "producer", "consumer"};

arrow::Result<Field> ResolveField(const Token& t) {
  std::string name = t.text;
  if (name.rfind("span:", 0) == 0) name = name.substr(5);  // Tempo 2.5's scoped intrinsics
  if (name == "name") return Field{Field::kText, {"SpanName"}};
  if (name == "statusMessage") return Field{Field::kText, {"StatusMessage"}};
  if (name == "status") return Field{Field::kEnum, {"lower(StatusCode)"}, kStatuses};
  if (name == "kind") return Field{Field::kEnum, {"lower(SpanKind)"}, kKinds};
  if (name == "duration") return Field{Field::kDuration, {"Duration"}};
  if (t.text == "resource.service.name") return Field{Field::kText, {"ServiceName"}};
  for (const char* scope : {"event", "link", "instrumentation", "trace:", "span:", "parent", "rootName",
                            "rootServiceName", "traceDuration", "nestedSetParent", "event:", "link:"}) {
    if (t.text.rfind(scope, 0) == 0) {
      return Error(t.column, fmt::format("the field {} is not supported (this subset: name, status, kind, duration, "
                                         "statusMessage, resource.X, span.X, .X)",
                                         t.text));
    }
  }
  auto key = [&](size_t prefix) -> arrow::Result<std::string> {
    if (t.text.size() <= prefix) return Error(t.column, fmt::format("{} names no attribute", t.text));
    return SqlString(t.text.substr(prefix));
  };
  if (t.text.rfind("resource.", 0) == 0) {
    ARROW_ASSIGN_OR_RAISE(auto k, key(9));
    return Field{Field::kAttribute, {fmt::format("ResourceAttributes[{}]", k)}};
  }
  if (t.text.rfind("span.", 0) == 0) {
    ARROW_ASSIGN_OR_RAISE(auto k, key(5));
    return Field{Field::kAttribute, {fmt::format("SpanAttributes[{}]", k)}};
  }
  if (t.text.rfind('.', 0) == 0) {
    ARROW_ASSIGN_OR_RAISE(auto k, key(1));
    const std::string resource =
        t.text == ".service.name" ? std::string("ServiceName") : fmt::format("ResourceAttributes[{}]", k);
    return Field{Field::kAttribute, {fmt::format("SpanAttributes[{}]", k), resource}};
  }
  return Error(t.column, fmt::format("unknown field {} (intrinsics: name, status, kind, duration, statusMessage; "
                                     "attributes: resource.X, span.X or .X)",
                                     t.text));
}

std::string SqlNumber(double n) { return fmt::format("{}", n); }

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  arrow::Result<TraceQlSql> Query() {
    TraceQlSql out;
    std::vector<std::string> matched;
    while (true) {
      ARROW_ASSIGN_OR_RAISE(auto condition, Spanset());
      out.having += "bool_or(" + condition + ")";
      matched.push_back(condition);
      const Token& t = Next();
      if (t.kind == Tok::kEnd) break;
      if (t.kind == Tok::kAnd || t.kind == Tok::kOr) {
        out.having += t.kind == Tok::kAnd ? " AND " : " OR ";
        continue;
      }
      if (t.kind == Tok::kPipe)
        return Error(t.column, "pipelines (| count(), | select(...), | by(...)) are not supported");
      if (t.kind == Tok::kOp)
        return Error(t.column, fmt::format("the structural operator {} is not supported", t.text));
      return Error(t.column, fmt::format("expected && or || between spansets, or the end, not \"{}\"", t.text));
    }
    out.having = "(" + out.having + ")";
    for (const auto& m : matched) out.matched += (out.matched.empty() ? "(" : " OR (") + m + ")";
    return out;
  }

 private:
  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }

  arrow::Result<std::string> Spanset() {
    const Token& open = Next();
    if (open.kind != Tok::kLBrace) {
      return Error(open.column, fmt::format("a query is spansets in braces ({{ .x = \"y\" }}), not \"{}\"", open.text));
    }
    if (Peek().kind == Tok::kRBrace) {
      Next();
      return std::string("TRUE");
    }
    ARROW_ASSIGN_OR_RAISE(auto condition, Or(0));
    const Token& close = Next();
    if (close.kind == Tok::kPipe) return Error(close.column, "pipelines inside a spanset are not supported");
    if (close.kind != Tok::kRBrace) return Error(close.column, fmt::format("expected }} , not \"{}\"", close.text));
    return condition;
  }

  arrow::Result<std::string> Or(int depth) {
    ARROW_ASSIGN_OR_RAISE(auto left, And(depth));
    while (Peek().kind == Tok::kOr) {
      Next();
      ARROW_ASSIGN_OR_RAISE(auto right, And(depth));
      left = "(" + left + " OR " + right + ")";
    }
    return left;
  }

  arrow::Result<std::string> And(int depth) {
    ARROW_ASSIGN_OR_RAISE(auto left, Unary(depth));
    while (Peek().kind == Tok::kAnd) {
      Next();
      ARROW_ASSIGN_OR_RAISE(auto right, Unary(depth));
      left = "(" + left + " AND " + right + ")";
    }
    return left;
  }

  arrow::Result<std::string> Unary(int depth) {
    const Token& t = Peek();
    if (t.kind == Tok::kNot || t.kind == Tok::kLParen) {
      if (depth >= kMaxDepth) return Error(t.column, fmt::format("conditions nested deeper than {}", kMaxDepth));
      Next();
      if (t.kind == Tok::kNot && Next().kind != Tok::kLParen) return Error(t.column, "! applies to a condition in ( )");
      ARROW_ASSIGN_OR_RAISE(auto inner, Or(depth + 1));
      const Token& close = Next();
      if (close.kind != Tok::kRParen) return Error(close.column, fmt::format("expected ), not \"{}\"", close.text));
      // A NULL (an attribute the span lacks) is no match, negated or not.
      return t.kind == Tok::kNot ? "(NOT coalesce(" + inner + ", FALSE))" : inner;
    }
    return Comparison();
  }

  arrow::Result<std::string> Comparison() {
    const Token& f = Next();
    if (f.kind != Tok::kWord) return Error(f.column, fmt::format("expected a field, not \"{}\"", f.text));
    ARROW_ASSIGN_OR_RAISE(auto field, ResolveField(f));
    const Token& op = Next();
    static const std::vector<std::string> kOps = {"=", "!=", ">", ">=", "<", "<=", "=~", "!~"};
    if (op.kind != Tok::kOp || std::find(kOps.begin(), kOps.end(), op.text) == kOps.end()) {
      return Error(op.column,
                   fmt::format("expected a comparison (= != > >= < <= =~ !~) after {}, not \"{}\"", f.text, op.text));
    }
    const Token& v = Next();
    const bool regex = op.text == "=~" || op.text == "!~";
    const bool equality = op.text == "=" || op.text == "!=";
    auto refuse = [&](std::string_view why) {
      return Error(v.column, fmt::format("{} {} {}: {}", f.text, op.text, v.text, why));
    };
    if (v.kind == Tok::kWord && v.text == "nil") {
      if (!equality) return refuse("nil compares with = or != only");
      std::string out;
      for (const auto& e : field.sql) {
        out += (out.empty()      ? ""
                : op.text == "=" ? " AND "
                                 : " OR ") +
               e + (op.text == "=" ? " IS NULL" : " IS NOT NULL");
      }
      return "(" + out + ")";
    }
    std::string sql_op = op.text == "!=" ? "<>" : op.text;
    auto compare = [&](const std::string& e, const std::string& literal) {
      if (op.text == "=~") return fmt::format("regexp_full_match({}, {})", e, literal);
      if (op.text == "!~") return fmt::format("NOT regexp_full_match({}, {})", e, literal);
      return fmt::format("{} {} {}", e, sql_op, literal);
    };
    switch (field.kind) {
      case Field::kText:
        if (v.kind != Tok::kString) return refuse("a string field compares with a \"string\"");
        return "(" + compare(field.sql[0], SqlString(v.text)) + ")";
      case Field::kEnum: {
        const bool known =
            v.kind == Tok::kWord && std::find(field.values.begin(), field.values.end(), v.text) != field.values.end();
        if (!known) return refuse(fmt::format("the values are {}", fmt::join(field.values, ", ")));
        if (!equality) return refuse("compares with = or != only");
        return "(" + compare(field.sql[0], SqlString(v.text)) + ")";
      }
      case Field::kDuration:
        if (v.kind != Tok::kDuration) return refuse("duration compares with a duration (100ms, 1.5s, 2m)");
        if (regex) return refuse("a duration has no regular expression");
        return "(" + compare(field.sql[0], std::to_string(v.nanos)) + ")";
      case Field::kAttribute: {
        std::string literal;
        bool numeric = false;
        if (v.kind == Tok::kString) {
          literal = SqlString(v.text);
        } else if (v.kind == Tok::kNumber) {
          if (regex) return refuse("a regular expression is a \"string\"");
          literal = SqlNumber(v.number);
          numeric = true;
        } else if (v.kind == Tok::kWord && (v.text == "true" || v.text == "false")) {
          if (!equality) return refuse("a boolean compares with = or != only");
          literal = SqlString(v.text);
        } else {
          return refuse("an attribute compares with a \"string\", a number, true, false or nil");
        }
        std::string out;
        for (const auto& e : field.sql) {
          out += (out.empty() ? "" : " OR ") + compare(numeric ? "TRY_CAST(" + e + " AS DOUBLE)" : e, literal);
        }
        return "(" + out + ")";
      }
    }
    return refuse("unsupported");
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

}  // namespace

arrow::Result<TraceQlSql> TraceQlToSql(std::string_view query) {
  if (query.size() > kMaxQueryBytes) {
    return arrow::Status::Invalid("TraceQL: the query is longer than ", kMaxQueryBytes, " bytes");
  }
  ARROW_ASSIGN_OR_RAISE(auto tokens, Tokenize(query));
  return Parser(std::move(tokens)).Query();
}

}  // namespace openwit::search
