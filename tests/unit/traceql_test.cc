// The TraceQL subset (search/traceql.h): what it turns into SQL, and what it refuses, where.
// Tempo's search runs that SQL against a real lake in tempo_api_test.cc.
#include "search/traceql.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace openwit::search {
namespace {

using ::testing::HasSubstr;

std::string Having(const std::string& q) {
  auto sql = TraceQlToSql(q);
  EXPECT_TRUE(sql.ok()) << q << ": " << sql.status();
  return sql.ok() ? sql->having : "";
}

std::string Refusal(const std::string& q) {
  auto sql = TraceQlToSql(q);
  EXPECT_FALSE(sql.ok()) << q << " was taken as " << (sql.ok() ? sql->having : "");
  return sql.ok() ? "" : sql.status().message();
}

TEST(TraceQlTest, SpansetsBecomeConditionsOnATracesSpans) {
  EXPECT_EQ(Having("{}"), "(bool_or(TRUE))");
  EXPECT_EQ(Having("{ name = \"GET /\" }"), "(bool_or((SpanName = 'GET /')))");
  EXPECT_EQ(Having("{resource.service.name=\"api\" && status=error}"),
            "(bool_or(((ServiceName = 'api') AND (lower(StatusCode) = 'error'))))");
  EXPECT_EQ(Having("{duration > 1.5s}"), "(bool_or((Duration > 1500000000)))");
  EXPECT_EQ(Having("{span:duration >= 100ms}"), "(bool_or((Duration >= 100000000)))");
  EXPECT_EQ(Having("{kind != internal}"), "(bool_or((lower(SpanKind) <> 'internal')))");
  // Attributes: numbers compare as numbers, strings as text; unscoped means span or resource.
  EXPECT_EQ(Having("{span.http.status_code >= 500}"),
            "(bool_or((TRY_CAST(SpanAttributes['http.status_code'] AS DOUBLE) >= 500)))");
  EXPECT_EQ(Having("{.region = `eu'1`}"),
            "(bool_or((SpanAttributes['region'] = 'eu''1' OR ResourceAttributes['region'] = 'eu''1')))");
  EXPECT_EQ(Having("{.service.name = \"a\"}"),
            "(bool_or((SpanAttributes['service.name'] = 'a' OR ServiceName = 'a')))");
  EXPECT_EQ(Having("{resource.k8s.pod =~ \"web-.*\"}"),
            "(bool_or((regexp_full_match(ResourceAttributes['k8s.pod'], 'web-.*'))))");
  EXPECT_EQ(Having("{span.retry = true}"), "(bool_or((SpanAttributes['retry'] = 'true')))");
  EXPECT_EQ(Having("{span.x != nil}"), "(bool_or((SpanAttributes['x'] IS NOT NULL)))");
  EXPECT_EQ(Having("{.x = nil}"), "(bool_or((SpanAttributes['x'] IS NULL AND ResourceAttributes['x'] IS NULL)))");
  EXPECT_EQ(Having("{span.delta < -2.5}"), "(bool_or((TRY_CAST(SpanAttributes['delta'] AS DOUBLE) < -2.5)))");
  // Precedence: && before ||; parentheses and !( ).
  EXPECT_EQ(Having("{name=\"a\" || name=\"b\" && kind=server}"),
            "(bool_or(((SpanName = 'a') OR ((SpanName = 'b') AND (lower(SpanKind) = 'server')))))");
  EXPECT_EQ(Having("{!(name=\"a\" || name=\"b\")}"),
            "(bool_or((NOT coalesce(((SpanName = 'a') OR (SpanName = 'b')), FALSE))))");
  // Spansets: a span of each (&&) or of either (||); the matched spans are those of any.
  auto both = TraceQlToSql("{name=\"a\"} && {duration>1s}");
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ(both->having, "(bool_or((SpanName = 'a')) AND bool_or((Duration > 1000000000)))");
  EXPECT_EQ(both->matched, "((SpanName = 'a')) OR ((Duration > 1000000000))");
  EXPECT_EQ(Having("{name=\"a\"} || {name=\"b\"}"), "(bool_or((SpanName = 'a')) OR bool_or((SpanName = 'b')))");
}

TEST(TraceQlTest, OutsideTheSubsetIsRefusedNamingWhatAndWhere) {
  EXPECT_THAT(Refusal("{.a=1} | count() > 2"), HasSubstr("pipelines (| count()"));
  EXPECT_THAT(Refusal("{.a=1} | count() > 2"), HasSubstr("column 8"));
  EXPECT_THAT(Refusal("{.a=1} >> {.b=2}"), HasSubstr("the structural operator >> is not supported at column 8"));
  EXPECT_THAT(Refusal("{.a=1} ~ {.b=2}"), HasSubstr("structural operator ~"));
  EXPECT_THAT(Refusal("{traceDuration > 1s}"), HasSubstr("the field traceDuration is not supported (this subset"));
  EXPECT_THAT(Refusal("{traceDuration > 1s}"), HasSubstr(".X) at column 2"));
  EXPECT_THAT(Refusal("{event.name = \"x\"}"), HasSubstr("event.name is not supported"));
  EXPECT_THAT(Refusal("{foo = 1}"), HasSubstr("unknown field foo"));
  EXPECT_THAT(Refusal("{status = 1}"), HasSubstr("the values are ok, error, unset at column 11"));
  EXPECT_THAT(Refusal("{status > error}"), HasSubstr("= or != only"));
  EXPECT_THAT(Refusal("{duration > 5}"), HasSubstr("a duration (100ms"));
  EXPECT_THAT(Refusal("{name = 5}"), HasSubstr("compares with a \"string\""));
  EXPECT_THAT(Refusal("{.a =~ 5}"), HasSubstr("a regular expression is a \"string\""));
  EXPECT_THAT(Refusal("{.a = error}"), HasSubstr("an attribute compares with"));
  EXPECT_THAT(Refusal("{name = \"a}"), HasSubstr("a string without its closing quote at column 9"));
  EXPECT_THAT(Refusal("{name = \"a\""), HasSubstr("expected }"));
  EXPECT_THAT(Refusal("name = \"a\""), HasSubstr("spansets in braces"));
  EXPECT_THAT(Refusal("{name \"a\"}"), HasSubstr("expected a comparison"));
  EXPECT_THAT(Refusal("{duration > 5parsecs}"), HasSubstr("neither a number nor a duration"));
  EXPECT_THAT(Refusal("{.a = 1} {.b = 2}"), HasSubstr("expected && or ||"));
  EXPECT_THAT(Refusal("{.a = 1 # x}"), HasSubstr("unexpected character '#' at column 9"));
  EXPECT_THAT(Refusal("{.a=nil && .b > nil}"), HasSubstr("nil compares with = or != only"));
  EXPECT_THAT(Refusal(""), HasSubstr("spansets in braces"));
}

TEST(TraceQlTest, DepthAndLengthAreBounded) {
  std::string deep = "{" + std::string(32, '(') + ".a=1" + std::string(32, ')') + "}";
  EXPECT_TRUE(TraceQlToSql(deep).ok());
  std::string deeper = "{" + std::string(33, '(') + ".a=1" + std::string(33, ')') + "}";
  EXPECT_THAT(Refusal(deeper), HasSubstr("nested deeper than 32 at column 34"));
  std::string hostile = "{" + std::string(100000, '(') + "}";
  EXPECT_THAT(Refusal(hostile), HasSubstr("longer than 16384 bytes"));
  std::string wide = "{";
  for (int i = 0; i < 1000; ++i) wide += ".a=1 && ";
  EXPECT_TRUE(TraceQlToSql(wide + ".a=1}").ok());
}

}  // namespace
}  // namespace openwit::search
