// OTLP export requests decoded into bulk batches (otlp/export_request.h): protobuf and OTLP's JSON
// give the same batch; what does not decode is refused with a message.
#include "otlp/export_request.h"

#include <gtest/gtest.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace openwit::otlp {
namespace {

using ingest::v1::BulkBatch;

TEST(ExportRequestTest, JsonAndProtobufGiveTheSameBatch) {
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest request;
  auto* span = request.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_trace_id(std::string("\x5b\x8e\xfc\xf4\x34\x28\x45\x11\x9a\x5f\x1b\x0a\x34\x77\x0c\x5e", 16));
  span->set_span_id(std::string("\x00\x11\x22\x33\x44\x55\x66\x77", 8));
  span->set_name("GET /cart");
  span->set_start_time_unix_nano(1700000000000000000ull);

  BulkBatch from_protobuf;
  ASSERT_TRUE(DecodeExportRequest(ingest::v1::SIGNAL_TRACES, "application/x-protobuf", request.SerializeAsString(),
                                  &from_protobuf)
                  .ok());
  const std::string json = R"({"resourceSpans":[{"scopeSpans":[{"spans":[{
      "traceId":"5B8EFCF4342845119A5F1B0A34770C5E","spanId":"0011223344556677",
      "name":"GET /cart","startTimeUnixNano":"1700000000000000000","unknownField":1}]}]}]})";
  BulkBatch from_json;
  ASSERT_TRUE(DecodeExportRequest(ingest::v1::SIGNAL_TRACES, "application/json", json, &from_json).ok());

  EXPECT_EQ(from_json.signal(), ingest::v1::SIGNAL_TRACES);
  EXPECT_EQ(from_json.SerializeAsString(), from_protobuf.SerializeAsString());
}

TEST(ExportRequestTest, RefusesWhatDoesNotDecode) {
  BulkBatch batch;
  EXPECT_TRUE(DecodeExportRequest(ingest::v1::SIGNAL_LOGS, "application/json", "{", &batch).IsInvalid());
  EXPECT_TRUE(
      DecodeExportRequest(ingest::v1::SIGNAL_LOGS, "application/x-protobuf", "\xff\xff\xff", &batch).IsInvalid());
  auto odd_hex = DecodeExportRequest(ingest::v1::SIGNAL_TRACES, "application/json",
                                     R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abc"}]}]}]})", &batch);
  EXPECT_EQ(odd_hex.message(), "resourceSpans[0].scopeSpans[0].spans[0].traceId: \"abc\" is not hex");
  EXPECT_TRUE(DecodeExportRequest(ingest::v1::SIGNAL_LOGS, "text/plain", "", &batch).IsTypeError());
}

}  // namespace
}  // namespace openwit::otlp
