// OpenWit's LogQL subset (search/logql.h): each construct parses to its tree, each error names what
// and where, the parser's depth is bounded, and the SQL holds request text only as literals.

#include "search/logql.h"

#include <string>

#include <gtest/gtest.h>

namespace openwit::search::logql {
namespace {

Query Ok(const std::string& text) {
  auto parsed = Parse(text);
  EXPECT_TRUE(parsed.ok()) << text << ": " << parsed.status().message();
  return parsed.ok() ? *parsed : Query{};
}

// The message of the error `text` gets.
std::string Err(const std::string& text) {
  auto parsed = Parse(text);
  EXPECT_FALSE(parsed.ok()) << text << " parsed";
  return parsed.ok() ? "" : parsed.status().message();
}

TEST(Logql, StreamSelector) {
  Query q = Ok(R"({service_name="api", level!="debug", k8s_pod_name=~"pod-.*", env!~`te"st`})");
  ASSERT_EQ(q.metric, nullptr);
  ASSERT_EQ(q.log.matchers.size(), 4u);
  EXPECT_EQ(q.log.matchers[0].name, "service_name");
  EXPECT_EQ(q.log.matchers[0].op, MatchOp::kEqual);
  EXPECT_EQ(q.log.matchers[0].value, "api");
  EXPECT_EQ(q.log.matchers[1].op, MatchOp::kNotEqual);
  EXPECT_EQ(q.log.matchers[2].op, MatchOp::kRegex);
  EXPECT_EQ(q.log.matchers[2].value, "pod-.*");
  EXPECT_EQ(q.log.matchers[2].position.column, 52);
  EXPECT_EQ(q.log.matchers[3].op, MatchOp::kNotRegex);
  EXPECT_EQ(q.log.matchers[3].value, "te\"st");  // a raw string
  EXPECT_EQ(Ok(R"({a="x\"y\\z\n"})").log.matchers[0].value, "x\"y\\z\n");
}

TEST(Logql, LineFiltersChain) {
  Query q = Ok(R"({a="x"} |= "foo" != "bar" |~ "b.z" !~ `q+` |= ``)");
  ASSERT_EQ(q.log.line_filters.size(), 5u);
  EXPECT_EQ(q.log.line_filters[0].op, LineOp::kContains);
  EXPECT_EQ(q.log.line_filters[0].text, "foo");
  EXPECT_EQ(q.log.line_filters[1].op, LineOp::kNotContains);
  EXPECT_EQ(q.log.line_filters[2].op, LineOp::kRegex);
  EXPECT_EQ(q.log.line_filters[3].op, LineOp::kNotRegex);
  EXPECT_EQ(q.log.line_filters[3].text, "q+");
  EXPECT_EQ(q.log.line_filters[4].text, "");
}

TEST(Logql, LabelFiltersAndDrop) {
  Query q = Ok(
      R"({a="x"} | http_route="/pay" | status >= 500, method != "GET" and level=~"err.*" | drop __error__, __error_details__)");
  ASSERT_EQ(q.log.label_filters.size(), 4u);
  EXPECT_EQ(q.log.label_filters[0].name, "http_route");
  EXPECT_EQ(q.log.label_filters[0].op, "=");
  EXPECT_EQ(q.log.label_filters[0].value, "/pay");
  EXPECT_FALSE(q.log.label_filters[0].numeric);
  EXPECT_EQ(q.log.label_filters[1].op, ">=");
  EXPECT_TRUE(q.log.label_filters[1].numeric);
  EXPECT_EQ(q.log.label_filters[1].value, "500");
  EXPECT_EQ(q.log.label_filters[2].op, "!=");
  EXPECT_EQ(q.log.label_filters[3].op, "=~");
  EXPECT_EQ(q.log.dropped, (std::vector<std::string>{"__error__", "__error_details__"}));
}

TEST(Logql, MetricQueries) {
  Query q = Ok(R"(count_over_time({a="x"} |= "e" [5m]))");
  ASSERT_NE(q.metric, nullptr);
  EXPECT_EQ(q.metric->kind, MetricExpr::Kind::kRangeAggregation);
  EXPECT_FALSE(q.metric->rate);
  EXPECT_EQ(q.metric->range_ns, 300'000'000'000);
  EXPECT_EQ(q.metric->selector.line_filters.size(), 1u);

  q = Ok(R"(rate({a="x"}[1h30m] |= "e"))");  // the range before the pipeline, as Loki takes it too
  EXPECT_TRUE(q.metric->rate);
  EXPECT_EQ(q.metric->range_ns, 5400'000'000'000);

  // Grafana's logs volume query.
  q = Ok(R"(sum by (level, detected_level) (count_over_time({service_name="api"} | drop __error__[1m])))");
  EXPECT_EQ(q.metric->kind, MetricExpr::Kind::kSum);
  EXPECT_TRUE(q.metric->grouped);
  EXPECT_EQ(q.metric->by, (std::vector<std::string>{"level", "detected_level"}));
  EXPECT_EQ(q.metric->children[0]->range_ns, 60'000'000'000);

  q = Ok(R"(sum(rate({a="x"}[30s])) by (service_name))");
  EXPECT_EQ(q.metric->by, (std::vector<std::string>{"service_name"}));
  q = Ok(R"(sum(count_over_time({a="x"}[10s])))");
  EXPECT_FALSE(q.metric->grouped);
  q = Ok(R"(sum(count_over_time({a="x"}[10s])) * 2)");
  EXPECT_EQ(q.metric->kind, MetricExpr::Kind::kBinary);
  EXPECT_EQ(q.metric->op, '*');
  q = Ok(R"((((sum(count_over_time({a="x"}[10s]))))))");
  EXPECT_EQ(q.metric->kind, MetricExpr::Kind::kSum);
}

TEST(Logql, HealthCheckFoldsToTwo) {
  Query q = Ok("vector(1)+vector(1)");
  ASSERT_NE(q.metric, nullptr);
  EXPECT_EQ(q.metric->kind, MetricExpr::Kind::kConstant);
  EXPECT_FALSE(q.metric->scalar);
  EXPECT_EQ(q.metric->constant, 2);
  EXPECT_EQ(Ok("vector(2) * 3 - 1").metric->constant, 5);
  EXPECT_EQ(Ok("1 + 2 * 3").metric->constant, 7);
}

TEST(Logql, DurationsAsLokiReadsThem) {
  EXPECT_EQ(*ParseDuration("15s"), 15'000'000'000);
  EXPECT_EQ(*ParseDuration("1000ms"), 1'000'000'000);
  EXPECT_EQ(*ParseDuration("1h30m"), 5400'000'000'000);
  EXPECT_EQ(*ParseDuration("1d"), 86400'000'000'000);
  EXPECT_EQ(*ParseDuration("1.5"), 1'500'000'000);
  EXPECT_EQ(*ParseDuration("60"), 60'000'000'000);
  EXPECT_FALSE(ParseDuration("5x").ok());
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("m").ok());
}

TEST(Logql, ErrorsNameWhatAndWhere) {
  auto expect = [](const std::string& text, const std::string& where, const std::string& what) {
    const std::string message = Err(text);
    EXPECT_NE(message.find(where), std::string::npos) << text << ": " << message;
    EXPECT_NE(message.find(what), std::string::npos) << text << ": " << message;
  };
  expect(R"({a="x"} | json)", "parse error at line 1, col 11", "json is not supported");
  expect(R"({a="x"} | logfmt | b="c")", "col 11", "logfmt is not supported");
  expect(R"({a="x"} | line_format "{{.b}}")", "col 11", "line_format is not supported");
  expect(R"(avg(count_over_time({a="x"}[1m])))", "col 1", "avg is not supported");
  expect(R"(sum without (a) (count_over_time({a="x"}[1m])))", "col 5", "without is not supported");
  expect(R"(bytes_over_time({a="x"}[1m]))", "col 1", "bytes_over_time is not supported");
  expect(R"(count_over_time({a="x"}[1m]) / count_over_time({a="x"}[1m]))", "col 30", "between two series");
  expect(R"(count_over_time({a="x"}[1m]) > 2)", "col 30", "the operator > is not supported");
  expect(R"(count_over_time({a="x"}[1m] offset 1h))", "col 29", "offset is not supported");
  expect(R"({a="x"}[5m])", "col 8", "goes only inside a range aggregation");
  expect(R"(count_over_time({a="x"}))", "col 24", "expecting a range");
  expect(R"(count_over_time({a="x"}[5q]))", "col 25", "unit \"q\"");
  expect(R"({a="x")", "col 7", "expecting \",\"");
  expect(R"({a="x})", "col 4", "closing quote");
  expect(R"({a=x})", "col 4", "expecting a string");
  expect(R"({})", "col 1", "at least one label matcher");
  expect(R"({a="x"} extra)", "col 9", "unexpected \"extra\"");
  expect("{a=\"x\"}\n  |= \"y\" | json", "line 2, col 12", "json is not supported");
  expect("", "col 1", "empty");
  expect(R"({a="x"} # comment)", "col 9", "unexpected character '#'");
  expect(R"({a="\q"})", "col 5", "unsupported escape");
}

TEST(Logql, DepthIsBounded) {
  std::string deep;
  for (int i = 0; i < 10000; ++i) deep += "(";
  EXPECT_NE(Err(deep).find("nests more than"), std::string::npos);
  std::string sums;
  for (int i = 0; i < 100; ++i) sums += "sum(";
  sums += R"(count_over_time({a="x"}[1m]))";
  for (int i = 0; i < 100; ++i) sums += ")";
  EXPECT_NE(Err(sums).find("nests more than"), std::string::npos);
  std::string fine;
  for (int i = 0; i < 10; ++i) fine += "sum(";
  fine += R"(count_over_time({a="x"}[1m]))";
  for (int i = 0; i < 10; ++i) fine += ")";
  Ok(fine);
  EXPECT_NE(Err(std::string(kMaxQueryBytes + 1, ' ')).find("longer than"), std::string::npos);
}

TEST(Logql, SqlHoldsValuesOnlyAsLiterals) {
  Query q = Ok(R"({service_name="a'b", k8s_pod_name=~"x.*"} |= "it's" | http_route="/p'q")");
  const std::string sql = SelectorSql(q.log);
  EXPECT_NE(sql.find("coalesce(ServiceName, '') = 'a''b'"), std::string::npos) << sql;
  EXPECT_NE(sql.find("regexp_full_match("), std::string::npos) << sql;
  EXPECT_NE(sql.find("'k8s_pod_name'"), std::string::npos) << sql;
  EXPECT_NE(sql.find("contains(coalesce(Body, ''), 'it''s')"), std::string::npos) << sql;
  EXPECT_NE(sql.find("LogAttributes"), std::string::npos) << sql;
  EXPECT_NE(sql.find("'/p''q'"), std::string::npos) << sql;
  // The severity compares lower-cased.
  EXPECT_NE(SelectorSql(Ok(R"({level="ERROR"})").log).find("= lower('ERROR')"), std::string::npos);
  EXPECT_EQ(LabelName("k8s.pod-name/x"), "k8s_pod_name_x");
  const auto regexes = Regexes(q);
  ASSERT_EQ(regexes.size(), 1u);
  EXPECT_EQ(regexes[0].first, "x.*");
  EXPECT_EQ(regexes[0].second.column, 36);
}

}  // namespace
}  // namespace openwit::search::logql
