#include "gateway/validate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace openwit::gateway {
namespace {

using ::testing::HasSubstr;
constexpr uint64_t kNow = 1700000000000000000ull;

TEST(ValidateTest, LogsRejectOnlyTheBadRecords) {
  ingest::v1::BulkBatch b;
  b.set_signal(ingest::v1::SIGNAL_LOGS);
  auto* records = b.add_resource_logs()->add_scope_logs()->mutable_log_records();
  records->Add()->set_trace_id(std::string(16, 'a'));                       // good
  records->Add()->set_span_id("1234");                                      // bad span id
  records->Add()->set_time_unix_nano(kNow + 2 * 86400ull * 1000000000ull);  // two days ahead
  records->Add();                                                           // good: no ids at all
  auto v = ValidateRecords(b, kNow);
  EXPECT_EQ(v.rejected, (std::vector<bool>{false, true, true, false}));
  EXPECT_EQ(v.rejected_items, 2);
  EXPECT_THAT(v.message, HasSubstr("resource_logs[0].scope_logs[0].log_records[1].span_id: 4 bytes, expected 8"));
  EXPECT_THAT(v.message, HasSubstr("log_records[2].time_unix_nano: "));
  EXPECT_THAT(v.message, HasSubstr("more than a day in the future"));
}

TEST(ValidateTest, SpansNeedIdsNameAndOrder) {
  ingest::v1::BulkBatch b;
  b.set_signal(ingest::v1::SIGNAL_TRACES);
  auto* rs = b.add_resource_spans();
  rs->add_scope_spans();  // an empty scope first: indexes still count it
  auto* spans = rs->add_scope_spans()->mutable_spans();
  auto good = [&] {
    auto* s = spans->Add();
    s->set_trace_id(std::string(16, 't'));
    s->set_span_id(std::string(8, 's'));
    s->set_name("op");
    s->set_start_time_unix_nano(kNow);
    s->set_end_time_unix_nano(kNow + 1);
    return s;
  };
  good();
  good()->clear_trace_id();
  good()->set_end_time_unix_nano(kNow - 1);
  good()->add_links()->set_trace_id("x");
  good()->clear_name();
  auto v = ValidateRecords(b, kNow);
  EXPECT_EQ(v.rejected, (std::vector<bool>{false, true, true, true, true}));
  EXPECT_THAT(v.message, HasSubstr("resource_spans[0].scope_spans[1].spans[1].trace_id: 0 bytes, expected 16"));
  EXPECT_THAT(v.message, HasSubstr("spans[2].end_time_unix_nano"));
  EXPECT_THAT(v.message, HasSubstr("spans[3].links[0].trace_id: 1 bytes"));
  EXPECT_THAT(v.message, HasSubstr("(and 1 more)"));
}

TEST(ValidateTest, MetricsCountRejectedDataPoints) {
  ingest::v1::BulkBatch b;
  b.set_signal(ingest::v1::SIGNAL_METRICS);
  auto* metrics = b.add_resource_metrics()->add_scope_metrics()->mutable_metrics();
  auto* m = metrics->Add();
  m->set_name("latency");
  auto* points = m->mutable_histogram()->mutable_data_points();
  points->Add();
  points->Add()->add_exemplars()->set_span_id("12");
  metrics->Add()->mutable_gauge()->add_data_points();  // no name
  auto v = ValidateRecords(b, kNow);
  EXPECT_EQ(v.rejected_records, 2);
  EXPECT_EQ(v.rejected_items, 3);  // two points of the histogram, one of the gauge
  EXPECT_THAT(v.message, HasSubstr("metrics[0].data_points[1].exemplars[0].span_id: 2 bytes, expected 8"));
  EXPECT_THAT(v.message, HasSubstr("metrics[1].name: empty"));
}

}  // namespace
}  // namespace openwit::gateway
