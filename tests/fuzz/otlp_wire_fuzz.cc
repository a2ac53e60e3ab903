// The OTLP wire reader (otlp/otlp_wire.h) against protobuf, its oracle, as otlp_wire_test.cc
// holds it on random mutations: for any bytes of a ResourceLogs, ResourceSpans or ResourceMetrics,
// where protobuf refuses them the converter refuses them too; where protobuf parses them the
// converter gives the batch that protobuf's message gives, or the same error.
//
// Input: one byte choosing the signal (its value modulo 3: logs, traces, metrics), then the
// serialized resource, as it sits in a bulk batch.

#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "ingest/arrow_convert.h"
#include "opentelemetry/proto/logs/v1/logs.pb.h"
#include "opentelemetry/proto/metrics/v1/metrics.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace openwit::fuzz {
namespace {

using ingest::ArrowConverter;
using ingest::Signal;

template <class Message>
void CheckAgainstProtobuf(Signal signal, std::string_view bytes) {
  ArrowConverter& from_wire = ReusedConverter(signal, 0);
  arrow::Status wire_status = from_wire.AppendSerialized(bytes);
  auto wire_batch = from_wire.Finish();

  Message parsed;
  if (bytes.size() > INT32_MAX || !parsed.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    FUZZ_EXPECT(!wire_status.ok(), "protobuf refuses these bytes but the wire reader took them");
    return;
  }
  ArrowConverter& from_protobuf = ReusedConverter(signal, 1);
  arrow::Status protobuf_status = from_protobuf.Append(parsed);
  auto protobuf_batch = from_protobuf.Finish();
  FUZZ_EXPECT(wire_status.ok() == protobuf_status.ok(), "wire reader: {}; protobuf: {}", wire_status.ToString(),
              protobuf_status.ToString());
  if (!wire_status.ok()) {
    FUZZ_EXPECT(wire_status.message() == protobuf_status.message(), "wire reader: {}; protobuf: {}",
                wire_status.ToString(), protobuf_status.ToString());
    return;
  }
  FUZZ_EXPECT(wire_batch.ok() && protobuf_batch.ok(), "Finish failed: {} / {}", wire_batch.status().ToString(),
              protobuf_batch.status().ToString());
  // NaN equals NaN here: a double field holding NaN converts to NaN both ways.
  FUZZ_EXPECT((*wire_batch)->Equals(**protobuf_batch, arrow::EqualOptions::Defaults().nans_equal(true)),
              "different batches:\nwire reader:\n{}\nprotobuf:\n{}", (*wire_batch)->ToString(),
              (*protobuf_batch)->ToString());
  // What the converter made is a well-formed batch (the Parquet writer reads it as it is).
  auto valid = (*wire_batch)->ValidateFull();
  FUZZ_EXPECT(valid.ok(), "invalid batch: {}", valid.ToString());
}

}  // namespace
}  // namespace openwit::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  openwit::fuzz::InitializeTarget();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace openwit::fuzz;
  namespace otlp = opentelemetry::proto;
  if (size == 0) return -1;  // not kept in the corpus
  const std::string_view bytes = AsText(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      CheckAgainstProtobuf<otlp::logs::v1::ResourceLogs>(Signal::kLogs, bytes);
      break;
    case 1:
      CheckAgainstProtobuf<otlp::trace::v1::ResourceSpans>(Signal::kTraces, bytes);
      break;
    default:
      CheckAgainstProtobuf<otlp::metrics::v1::ResourceMetrics>(Signal::kMetrics, bytes);
      break;
  }
  return 0;
}
