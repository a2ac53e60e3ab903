#include "gateway/normalize.h"

#include <gtest/gtest.h>

namespace openwit::gateway {
namespace {

namespace logs = opentelemetry::proto::logs::v1;

TEST(NormalizeTest, SeverityTextAndNumberAgree) {
  ingest::v1::BulkBatch b;
  b.set_signal(ingest::v1::SIGNAL_LOGS);
  auto* records = b.add_resource_logs()->add_scope_logs()->mutable_log_records();
  records->Add()->set_severity_text("warning");
  records->Add()->set_severity_number(logs::SEVERITY_NUMBER_ERROR2);
  auto* both = records->Add();
  both->set_severity_text("info");
  both->set_severity_number(logs::SEVERITY_NUMBER_INFO);
  records->Add()->set_severity_text("custom-level");
  records->Add()->set_observed_time_unix_nano(5);
  records->Add()->set_time_unix_nano(7);
  Normalize(&b, 1000);
  const auto& r = b.resource_logs(0).scope_logs(0).log_records();
  EXPECT_EQ(r[0].severity_number(), logs::SEVERITY_NUMBER_WARN);
  EXPECT_EQ(r[0].severity_text(), "WARN");
  EXPECT_EQ(r[1].severity_text(), "ERROR");
  EXPECT_EQ(r[2].severity_text(), "INFO");
  EXPECT_EQ(r[3].severity_text(), "custom-level");  // unknown text is kept as sent
  EXPECT_EQ(r[3].severity_number(), 0);
  // Times are left as sent, so a retry has the same dedup key; the batch says when it came, the
  // time of a record with none (the ingest node's converter).
  EXPECT_EQ(r[0].observed_time_unix_nano(), 0u);
  EXPECT_EQ(r[4].observed_time_unix_nano(), 5u);
  EXPECT_EQ(r[5].observed_time_unix_nano(), 0u);
  EXPECT_EQ(b.received_unix_nano(), 1000u);
}

TEST(NormalizeTest, EveryResourceHasAServiceName) {
  ingest::v1::BulkBatch b;
  b.set_signal(ingest::v1::SIGNAL_TRACES);
  b.add_resource_spans();
  auto* named = b.add_resource_spans()->mutable_resource()->add_attributes();
  named->set_key("service.name");
  named->mutable_value()->set_string_value("cart");
  Normalize(&b, 0);
  ASSERT_EQ(b.resource_spans(0).resource().attributes_size(), 1);
  EXPECT_EQ(b.resource_spans(0).resource().attributes(0).value().string_value(), "unknown_service");
  ASSERT_EQ(b.resource_spans(1).resource().attributes_size(), 1);
  EXPECT_EQ(b.resource_spans(1).resource().attributes(0).value().string_value(), "cart");
}

}  // namespace
}  // namespace openwit::gateway
