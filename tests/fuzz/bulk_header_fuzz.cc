// What the ingest node reads of a bulk batch from the gateway (or from its WAL) before any
// protobuf parse: ReadBulkHeader, the dedup keys of RecordKeys, and the conversion of the
// resources to Arrow (otlp/otlp_records.h, ingest/arrow_convert.h). Wherever protobuf parses the
// bytes as a BulkBatch, the header has protobuf's field values and list sizes, and there is one
// key per record that ForEachRecord walks (or both refuse a batch holding a protobuf group, which
// protobuf skips: otlp_records.h); whatever the bytes, nothing crashes.
//
// Input: a serialized openwit.ingest.v1.BulkBatch.

#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "ingest/arrow_convert.h"
#include "otlp/otlp_records.h"

namespace openwit::fuzz {
namespace {

using ingest::v1::BulkBatch;

void CheckAgainstProtobuf(std::string_view bytes, const arrow::Result<otlp::BulkHeader>& header,
                          const arrow::Result<std::vector<uint64_t>>& keys) {
  BulkBatch expected;
  if (bytes.size() > INT32_MAX || !expected.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
  auto refuses_group = [](const arrow::Status& s) { return s.message().find("protobuf group") != std::string::npos; };
  if (!header.ok() && refuses_group(header.status())) return;
  FUZZ_EXPECT(header.ok(), "protobuf parses the batch, ReadBulkHeader refuses it: {}", header.status().ToString());
  FUZZ_EXPECT(header->batch_id == expected.batch_id(), "batch_id");
  FUZZ_EXPECT(header->tenant == expected.tenant(), "tenant");
  FUZZ_EXPECT(header->signal == expected.signal(), "signal: {} / {}", static_cast<int>(header->signal),
              static_cast<int>(expected.signal()));
  FUZZ_EXPECT(header->positions.size() == expected.positions_size(), "positions: {} / {}", header->positions.size(),
              expected.positions_size());
  for (int p = 0; p < expected.positions_size(); ++p) {
    FUZZ_EXPECT(header->positions[p].SerializeAsString() == expected.positions(p).SerializeAsString(), "positions[{}]",
                p);
  }
  FUZZ_EXPECT(header->list_sizes[0] == expected.resource_logs_size() &&
                  header->list_sizes[1] == expected.resource_spans_size() &&
                  header->list_sizes[2] == expected.resource_metrics_size(),
              "list sizes");
  if (!keys.ok() && refuses_group(keys.status())) return;
  FUZZ_EXPECT(keys.ok(), "protobuf parses the batch, RecordKeys refuses it: {}", keys.status().ToString());
  FUZZ_EXPECT(static_cast<int64_t>(keys->size()) == otlp::CountRecords(expected), "{} keys for {} records",
              keys->size(), otlp::CountRecords(expected));
}

// The ingest pipeline's conversion: every resource of the batch's signal into one RecordBatch.
void Convert(const otlp::BulkHeader& header) {
  if (header.signal < ingest::v1::SIGNAL_LOGS || header.signal > ingest::v1::SIGNAL_METRICS) return;
  ingest::ArrowConverter& converter = ReusedConverter(static_cast<ingest::Signal>(header.signal - 1));
  for (std::string_view resource : header.resources) {
    if (!converter.AppendSerialized(resource).ok()) {
      (void)converter.Finish();  // as the pipeline does: the batch is refused whole
      return;
    }
  }
  auto batch = converter.Finish();
  FUZZ_EXPECT(batch.ok(), "Finish: {}", batch.status().ToString());
  auto valid = (*batch)->ValidateFull();
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
  static_assert(static_cast<int>(openwit::ingest::Signal::kLogs) == openwit::ingest::v1::SIGNAL_LOGS - 1 &&
                static_cast<int>(openwit::ingest::Signal::kMetrics) == openwit::ingest::v1::SIGNAL_METRICS - 1);
  const std::string_view bytes = AsText(data, size);
  auto header = openwit::otlp::ReadBulkHeader(bytes);
  arrow::Result<std::vector<uint64_t>> keys = arrow::Status::Invalid("no header");
  if (header.ok()) keys = openwit::otlp::RecordKeys(*header);
  CheckAgainstProtobuf(bytes, header, keys);
  if (header.ok() && keys.ok()) Convert(*header);
  return 0;
}
