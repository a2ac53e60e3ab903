#include "gateway/normalize.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace openwit::gateway {
namespace {

namespace common = opentelemetry::proto::common::v1;
namespace logs = opentelemetry::proto::logs::v1;

// The six severity ranges of the OpenTelemetry log data model, 4 numbers each from 1.
constexpr std::array<const char*, 6> kSeverityText = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};

void EnsureServiceName(opentelemetry::proto::resource::v1::Resource* resource) {
  for (const auto& kv : resource->attributes()) {
    if (kv.key() == "service.name") return;
  }
  auto* kv = resource->add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value("unknown_service");
}

// The range (0-5) a severity text names, or -1.
int SeverityRange(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::toupper(c); });
  while (!text.empty() && std::isdigit(static_cast<unsigned char>(text.back()))) text.pop_back();  // "INFO2"
  if (text == "WARNING") text = "WARN";
  if (text == "CRITICAL" || text == "EMERGENCY" || text == "PANIC") text = "FATAL";
  if (text == "ERR") text = "ERROR";
  if (text == "INFORMATION" || text == "NOTICE") text = "INFO";
  for (size_t i = 0; i < kSeverityText.size(); ++i) {
    if (text == kSeverityText[i]) return static_cast<int>(i);
  }
  return -1;
}

void NormalizeSeverity(logs::LogRecord* r) {
  const int number = r->severity_number();
  if (number == 0 && !r->severity_text().empty()) {
    int range = SeverityRange(r->severity_text());
    if (range >= 0) {
      r->set_severity_number(static_cast<logs::SeverityNumber>(range * 4 + 1));
      r->set_severity_text(kSeverityText[range]);
    }
  } else if (number >= 1 && number <= 24) {
    if (r->severity_text().empty()) {
      r->set_severity_text(kSeverityText[(number - 1) / 4]);
    } else if (int range = SeverityRange(r->severity_text()); range >= 0) {
      r->set_severity_text(kSeverityText[range]);
    }
  }
}

}  // namespace

void Normalize(ingest::v1::BulkBatch* batch, uint64_t now_unix_nano) {
  // A log record with no time at all is placed at this time by the ingest node (else it would land
  // in 1970 and meet retention at once). On the batch, not the record: the record's bytes are its
  // dedup key, and a client's retry of it must have the same.
  if (batch->received_unix_nano() == 0) batch->set_received_unix_nano(now_unix_nano);
  for (auto& r : *batch->mutable_resource_logs()) {
    EnsureServiceName(r.mutable_resource());
    for (auto& s : *r.mutable_scope_logs()) {
      for (auto& rec : *s.mutable_log_records()) {
        NormalizeSeverity(&rec);
      }
    }
  }
  for (auto& r : *batch->mutable_resource_spans()) EnsureServiceName(r.mutable_resource());
  for (auto& r : *batch->mutable_resource_metrics()) EnsureServiceName(r.mutable_resource());
}

}  // namespace openwit::gateway
