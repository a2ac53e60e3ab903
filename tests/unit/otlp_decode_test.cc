// otlp::DecodeExportRequest on hostile bodies: nesting and size are bounded before anything recurses.
#include <string>

#include <gtest/gtest.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "otlp/export_request.h"

namespace openwit::otlp {
namespace {

using ingest::v1::BulkBatch;

// A log whose body is a kvlist nested `levels` deep (the issue #11 request used 10,000: ~500 KB).
std::string DeepJson(int levels) {
  std::string open, close;
  for (int i = 0; i < levels; ++i) {
    open += R"({"kvlistValue":{"values":[{"key":"k","value":)";
    close += "}]}}";
  }
  return R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":)" + open + R"({"stringValue":"leaf"})" + close +
         "}]}]}]}";
}

TEST(DecodeExportRequest, ShallowNestedJsonDecodes) {
  BulkBatch batch;
  auto status = DecodeExportRequest(ingest::v1::SIGNAL_LOGS, "application/json", DeepJson(5), &batch);
  ASSERT_TRUE(status.ok()) << status.ToString();
  const auto& body = batch.resource_logs(0).scope_logs(0).log_records(0).body();
  EXPECT_EQ(body.kvlist_value().values(0).value().kvlist_value().values(0).key(), "k");
}

TEST(DecodeExportRequest, DeepJsonIsRefusedNamingTheLimit) {
  for (int levels : {100, 1000, 10000, 100000}) {
    BulkBatch batch;
    auto status = DecodeExportRequest(ingest::v1::SIGNAL_LOGS, "application/json", DeepJson(levels), &batch);
    ASSERT_TRUE(status.IsInvalid()) << levels << ": " << status.ToString();
    EXPECT_NE(status.message().find("JSON nested deeper than 100 levels"), std::string::npos) << status.message();
  }
}

TEST(DecodeExportRequest, BracketsInsideStringsDoNotCount) {
  std::string body = "[[[[[[[[[[[[[[[[[[[[";
  for (int i = 0; i < 8; ++i) body += body;  // 5,120 brackets, and an escaped quote inside
  const std::string json =
      R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"\")" + body + R"("}}]}]}]})";
  BulkBatch batch;
  auto status = DecodeExportRequest(ingest::v1::SIGNAL_LOGS, "application/json", json, &batch);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(batch.resource_logs(0).scope_logs(0).log_records(0).body().string_value(), "\"" + body);
}

// Protobuf bodies: protobuf's parser stops at its recursion limit (100 messages).
TEST(DecodeExportRequest, DeepProtobufIsRefused) {
  opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest request;
  auto* value = request.add_resource_logs()->add_scope_logs()->add_log_records()->mutable_body();
  for (int i = 0; i < 1000; ++i) {
    auto* kv = value->mutable_kvlist_value()->add_values();
    kv->set_key("k");
    value = kv->mutable_value();
  }
  value->set_string_value("leaf");
  std::string wire;
  ASSERT_TRUE(request.SerializeToString(&wire));
  BulkBatch batch;
  auto status = DecodeExportRequest(ingest::v1::SIGNAL_LOGS, "application/x-protobuf", wire, &batch);
  EXPECT_TRUE(status.IsInvalid()) << status.ToString();
}

}  // namespace
}  // namespace openwit::otlp
