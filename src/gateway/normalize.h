#pragma once
// Normalization at the gateway ("The common ingestion path" step 2), so every record reaches the
// lake in one consistent shape whatever sent it:
// - every resource has service.name (OpenTelemetry's "unknown_service" when the sender set none);
// - log severity: the number from the text when only the text is set, the text from the number
//   when only the number is, and the text in its canonical form (TRACE DEBUG INFO WARN ERROR
//   FATAL);
// - a log with neither time nor observed time gets the time the gateway received it as observed
// time.

#include <cstdint>

#include "openwit/ingest.pb.h"

namespace openwit::gateway {

void Normalize(ingest::v1::BulkBatch* batch, uint64_t now_unix_nano);

}  // namespace openwit::gateway
