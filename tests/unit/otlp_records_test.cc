#include "otlp/otlp_records.h"

#include <gtest/gtest.h>

namespace openwit::otlp {
namespace {

ingest::v1::BulkBatch Batch(const std::string& service, std::vector<std::string> bodies,
                            const std::string& tenant = "t") {
  ingest::v1::BulkBatch b;
  b.set_batch_id("x");
  b.set_tenant(tenant);
  b.set_signal(ingest::v1::SIGNAL_LOGS);
  auto* rl = b.add_resource_logs();
  auto* a = rl->mutable_resource()->add_attributes();
  a->set_key("service.name");
  a->mutable_value()->set_string_value(service);
  auto* sl = rl->add_scope_logs();
  for (const auto& body : bodies) sl->add_log_records()->mutable_body()->set_string_value(body);
  return b;
}

std::vector<uint64_t> Keys(const ingest::v1::BulkBatch& b) {
  return RecordKeys(ReadBulkHeader(b.SerializeAsString()).ValueOrDie()).ValueOrDie();
}

TEST(OtlpRecordsTest, KeysDependOnRecordResourceAndTenantOnly) {
  auto a = Keys(Batch("checkout", {"one", "two", "three"}));
  auto b = Keys(Batch("checkout", {"three", "one"}));
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0], b[1]);  // same record, other batch, other position
  EXPECT_EQ(a[2], b[0]);
  EXPECT_NE(a[0], a[1]);
  EXPECT_NE(a[0], Keys(Batch("cart", {"one"}))[0]);               // other resource
  EXPECT_NE(a[0], Keys(Batch("checkout", {"one"}, "other"))[0]);  // other tenant
}

TEST(OtlpRecordsTest, KeysCoverEverySignal) {
  ingest::v1::BulkBatch traces;
  traces.set_signal(ingest::v1::SIGNAL_TRACES);
  traces.add_resource_spans()->add_scope_spans()->add_spans()->set_name("GET /");
  traces.mutable_resource_spans(0)->mutable_scope_spans(0)->add_spans()->set_name("SELECT");
  EXPECT_EQ(Keys(traces).size(), 2u);
  ingest::v1::BulkBatch metrics;
  metrics.set_signal(ingest::v1::SIGNAL_METRICS);
  metrics.add_resource_metrics()->add_scope_metrics()->add_metrics()->set_name("cpu");
  EXPECT_EQ(Keys(metrics).size(), 1u);
  EXPECT_EQ(CountRecords(traces), 2);
}

TEST(OtlpRecordsTest, MalformedBytesAreInvalid) {
  // A resource whose scope list claims more bytes than it has (the batch around it is well formed).
  ingest::v1::BulkBatch batch = Batch("checkout", {"one"});
  batch.clear_resource_logs();
  std::string bytes = batch.SerializeAsString() + std::string("\x22\x03\x12\x7f\x00", 5);
  auto header = ReadBulkHeader(bytes);
  ASSERT_TRUE(header.ok()) << header.status();
  ASSERT_EQ(header->resources.size(), 1u);
  auto keys = RecordKeys(*header);
  ASSERT_FALSE(keys.ok());
  EXPECT_TRUE(keys.status().IsInvalid());
}

TEST(OtlpRecordsTest, RemoveRecordsDropsFlaggedAndEmptiedContainers) {
  auto b = Batch("checkout", {"a", "b", "c"});
  auto* second = b.add_resource_logs();
  second->add_scope_logs()->add_log_records()->mutable_body()->set_string_value("d");
  RemoveRecords(&b, {false, true, false, true});
  ASSERT_EQ(b.resource_logs_size(), 1);  // the second resource lost its only record
  const auto& records = b.resource_logs(0).scope_logs(0).log_records();
  ASSERT_EQ(records.size(), 2);
  EXPECT_EQ(records[0].body().string_value(), "a");
  EXPECT_EQ(records[1].body().string_value(), "c");
}

TEST(OtlpRecordsTest, RepeatedBytesCountResourceAndScopeOncePerRow) {
  auto logs = Batch("checkout", {"a", "b", "c"});
  const auto resource = static_cast<int64_t>(logs.resource_logs(0).resource().ByteSizeLong());
  const auto scope = static_cast<int64_t>(logs.resource_logs(0).scope_logs(0).scope().ByteSizeLong());
  EXPECT_EQ(RepeatedBytes(logs), 3 * (resource + scope));

  // Metrics: every data point is a row.
  ingest::v1::BulkBatch metrics;
  metrics.set_signal(ingest::v1::SIGNAL_METRICS);
  auto* rm = metrics.add_resource_metrics();
  auto* attr = rm->mutable_resource()->add_attributes();
  attr->set_key("blob");
  attr->mutable_value()->set_string_value(std::string(1000, 'm'));
  auto* metric = rm->add_scope_metrics()->add_metrics();
  for (int i = 0; i < 50; ++i) metric->mutable_gauge()->add_data_points()->set_as_int(i);
  EXPECT_EQ(RepeatedBytes(metrics), 50 * static_cast<int64_t>(rm->resource().ByteSizeLong()));
}

}  // namespace
}  // namespace openwit::otlp
