// The gateway's path for an OTLP/HTTP JSON body (otlp/export_request.h, gateway/intake.h), then the
// ingest node's reading of the batch it makes (otlp/otlp_records.h, ingest/arrow_convert.h).
// Whatever the body: an error, never a crash (the JSON nesting depth included); and what the
// gateway admits the ingest node takes: the batch's header and keys read back, and its records
// convert to Arrow, since a record the converter refused would make the ingest node refuse the
// whole batch, good records included (DESIGN.md, "Rules of the road").
//
// Input: a JSON body, decoded as an export request of each of the three signals in turn.
//
// Deep nesting needs balanced brackets, which byte mutations almost never make: besides libFuzzer's
// own mutations, one in 16 wraps an object or array of the input in many more levels
// (LLVMFuzzerCustomMutator below). With it, the target found the stack overflow that a body nested
// some thousands of levels deep caused before the gateway's nesting limit.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>

#include "common/metrics.h"
#include "fuzz_support.h"
#include "gateway/intake.h"
#include "ingest/arrow_convert.h"
#include "otlp/export_request.h"
#include "otlp/otlp_records.h"

namespace openwit::fuzz {
namespace {

using ingest::v1::BulkBatch;

void GatewayThenIngest(ingest::v1::Signal signal, ingest::Signal converter_signal, std::string_view body) {
  BulkBatch batch;
  if (!otlp::DecodeExportRequest(signal, "application/json", body, &batch).ok()) return;
  batch.set_tenant("fuzz");
  batch.set_batch_id("fuzz-1");
  static MetricsRegistry metrics;
  static const gateway::Intake intake(metrics);
  const gateway::Validation validation = intake.Admit(&batch);
  (void)gateway::ExportResponseBody(signal, validation, /*json=*/true);

  const std::string serialized = batch.SerializeAsString();
  auto header = otlp::ReadBulkHeader(serialized);
  FUZZ_EXPECT(header.ok(), "the ingest node refuses the gateway's batch: {}", header.status().ToString());
  auto keys = otlp::RecordKeys(*header);
  FUZZ_EXPECT(keys.ok(), "RecordKeys refuses the gateway's batch: {}", keys.status().ToString());
  FUZZ_EXPECT(static_cast<int64_t>(keys->size()) == otlp::CountRecords(batch), "{} keys for {} records", keys->size(),
              otlp::CountRecords(batch));
  ingest::ArrowConverter& converter = ReusedConverter(converter_signal);
  for (std::string_view resource : header->resources) {
    auto status = converter.AppendSerialized(resource);
    FUZZ_EXPECT(status.ok(), "the converter refuses a record the gateway admitted: {}", status.ToString());
  }
  auto converted = converter.Finish();
  FUZZ_EXPECT(converted.ok(), "Finish: {}", converted.status().ToString());
}

// The end of the object or array opening at data[open] (brackets inside strings counted too: it
// only has to be right often enough), or npos.
size_t MatchingClose(std::string_view data, size_t open) {
  int depth = 0;
  for (size_t i = open; i < data.size(); ++i) {
    if (data[i] == '[' || data[i] == '{') ++depth;
    if (data[i] == ']' || data[i] == '}') {
      if (--depth == 0) return i;
    }
  }
  return std::string_view::npos;
}

// Wraps the value starting at a random bracket in up to all the room left of "[" ... "]" levels.
size_t WrapInNesting(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  std::minstd_rand rng(seed);
  const std::string_view text = AsText(data, size);
  std::vector<size_t> opens;
  for (size_t i = 0; i < size; ++i) {
    if (text[i] == '[' || text[i] == '{') opens.push_back(i);
  }
  if (opens.empty() || max_size <= size + 2) return 0;
  const size_t open = opens[rng() % opens.size()];
  const size_t close = MatchingClose(text, open);
  if (close == std::string_view::npos) return 0;
  const size_t levels = 1 + rng() % ((max_size - size) / 2);
  std::string out;
  out.reserve(size + 2 * levels);
  out.append(text.substr(0, open)).append(levels, '[');
  out.append(text.substr(open, close + 1 - open)).append(levels, ']');
  out.append(text.substr(close + 1));
  std::memcpy(data, out.data(), out.size());
  return out.size();
}

}  // namespace
}  // namespace openwit::fuzz

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  if (seed % 16 == 0) {
    if (size_t wrapped = openwit::fuzz::WrapInNesting(data, size, max_size, seed / 16)) return wrapped;
  }
  return LLVMFuzzerMutate(data, size, max_size);
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  openwit::fuzz::InitializeTarget();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace openwit::fuzz;
  using openwit::ingest::Signal;
  namespace v1 = openwit::ingest::v1;
  const std::string_view body = AsText(data, size);
  GatewayThenIngest(v1::SIGNAL_LOGS, Signal::kLogs, body);
  GatewayThenIngest(v1::SIGNAL_TRACES, Signal::kTraces, body);
  GatewayThenIngest(v1::SIGNAL_METRICS, Signal::kMetrics, body);
  return 0;
}
