#include "otlp/otlp_records.h"

#include <type_traits>

#include <arrow/util/hashing.h>

#include "otlp/otlp_wire.h"

namespace openwit::otlp {
namespace {

uint64_t HashBytes(std::string_view bytes) {
  return arrow::internal::ComputeStringHash<0>(bytes.data(), static_cast<int64_t>(bytes.size()));
}

uint64_t Combine(uint64_t a, uint64_t b) { return a ^ (b + 0x9e3779b97f4a7c15ull + (a << 6) + (a >> 2)); }

// Shared by the three signals: resources hold scopes hold records.
template <class Resources, class ScopesOf, class RecordsOf>
void RemoveFrom(Resources* resources, ScopesOf scopes_of, RecordsOf records_of, const std::vector<bool>& drop,
                size_t* index) {
  for (int r = 0; r < resources->size(); ++r) {
    auto* scopes = scopes_of(resources->Mutable(r));
    for (int s = 0; s < scopes->size(); ++s) {
      auto* records = records_of(scopes->Mutable(s));
      std::vector<int> doomed;
      for (int i = 0; i < records->size(); ++i, ++*index) {
        if (*index < drop.size() && drop[*index]) doomed.push_back(i);
      }
      for (auto it = doomed.rbegin(); it != doomed.rend(); ++it) records->DeleteSubrange(*it, 1);
    }
    for (int s = scopes->size() - 1; s >= 0; --s) {
      if (records_of(scopes->Mutable(s))->empty()) scopes->DeleteSubrange(s, 1);
    }
  }
  for (int r = resources->size() - 1; r >= 0; --r) {
    if (scopes_of(resources->Mutable(r))->empty()) resources->DeleteSubrange(r, 1);
  }
}

// Groups (proto2's start/end-group wire types) are unknown fields to protobuf, which skips them;
// the wire reader does not: no OpenWit gateway writes one, so a batch holding one is refused by
// name rather than read differently from protobuf (found by tests/fuzz/bulk_header).
constexpr const char* kGroupRefused =
    "holds a protobuf group (wire types 3 and 4, which no OTLP or OpenWit message uses): not accepted";

}  // namespace

int64_t RepeatedBytes(const ingest::v1::BulkBatch& batch) {
  int64_t total = 0;
  const void* last_resource = nullptr;
  const void* last_scope = nullptr;
  int64_t resource_bytes = 0, scope_bytes = 0;
  ForEachRecord(batch, [&](const RecordPosition&, const auto& resource, const auto& scope, const auto& record) {
    if (&resource != last_resource) {
      last_resource = &resource;
      resource_bytes = static_cast<int64_t>(resource.ByteSizeLong());
    }
    if (&scope != last_scope) {
      last_scope = &scope;
      scope_bytes = static_cast<int64_t>(scope.ByteSizeLong());
    }
    int64_t rows = 1;
    if constexpr (std::is_same_v<std::decay_t<decltype(record)>, opentelemetry::proto::metrics::v1::Metric>) {
      rows = MetricDataPoints(record);
    }
    total += rows * (resource_bytes + scope_bytes);
  });
  return total;
}

arrow::Result<std::vector<uint64_t>> RecordKeys(const BulkHeader& batch) {
  const uint64_t seed = Combine(HashBytes(batch.tenant), static_cast<uint64_t>(batch.signal));
  std::vector<uint64_t> keys;
  bool ok = true;
  // Calls f(bytes) for each length-delimited field `number` of a message (a field of another wire
  // type is an unknown field to protobuf); a malformed message clears ok.
  bool group = false;
  auto each = [&ok, &group](std::string_view message, uint32_t number, auto&& f) {
    wire::Reader r(message);
    for (wire::Reader::Field field; r.Next(&field);) {
      if (field.number == number && field.type == 2) f(field.bytes);
    }
    ok = ok && r.error() == wire::Reader::Error::kNone;
    group = group || r.error() == wire::Reader::Error::kGroup;
  };
  for (std::string_view resource_entry : batch.resources) {
    // The resource comes before its scopes in our serialization; hash it first either way.
    uint64_t resource_hash = Combine(seed, HashBytes({}));
    each(resource_entry, 1, [&](std::string_view resource) { resource_hash = Combine(seed, HashBytes(resource)); });
    each(resource_entry, 2, [&](std::string_view scope_entry) {
      uint64_t scope_hash = Combine(resource_hash, HashBytes({}));
      each(scope_entry, 1, [&](std::string_view scope) { scope_hash = Combine(resource_hash, HashBytes(scope)); });
      each(scope_entry, 2, [&](std::string_view record) { keys.push_back(Combine(scope_hash, HashBytes(record))); });
    });
  }
  if (group) return arrow::Status::Invalid("malformed bulk batch: ", kGroupRefused, " in a resource");
  if (!ok) return arrow::Status::Invalid("malformed bulk batch: protobuf wire format error in a resource");
  return keys;
}

arrow::Result<BulkHeader> ReadBulkHeader(std::string_view serialized_batch) {
  BulkHeader h;
  std::vector<std::string_view> entries[3];
  wire::Reader r(serialized_batch);
  auto utf8 = [](std::string_view text, const char* field) {
    return wire::IsUtf8(text) ? arrow::Status::OK() : arrow::Status::Invalid(field, ": not valid UTF-8");
  };
  for (wire::Reader::Field f; r.Next(&f);) {
    switch (f.number * 8 + f.type) {
      case 1 * 8 + 2:
        ARROW_RETURN_NOT_OK(utf8(f.bytes, "batch_id"));
        h.batch_id.assign(f.bytes);
        break;
      case 2 * 8 + 2:
        ARROW_RETURN_NOT_OK(utf8(f.bytes, "tenant"));
        h.tenant.assign(f.bytes);
        break;
      case 3 * 8 + 0:
        h.signal = static_cast<ingest::v1::Signal>(static_cast<int32_t>(f.scalar));  // an open enum
        break;
      case 4 * 8 + 2:
      case 5 * 8 + 2:
      case 6 * 8 + 2:
        entries[f.number - 4].push_back(f.bytes);
        break;
      case 7 * 8 + 2:
        if (!h.positions.Add()->ParseFromArray(f.bytes.data(), static_cast<int>(f.bytes.size()))) {
          return arrow::Status::Invalid("positions[", h.positions.size() - 1, "]: not a valid SourcePosition");
        }
        break;
      case 8 * 8 + 0:
        h.received_unix_nano = f.scalar;
        break;
      default:
        break;
    }
  }
  if (r.error() == wire::Reader::Error::kGroup) return arrow::Status::Invalid("bulk batch: ", kGroupRefused);
  if (r.error() != wire::Reader::Error::kNone) {
    return arrow::Status::Invalid("not a serialized openwit.ingest.v1.BulkBatch (protobuf wire format error)");
  }
  for (int i = 0; i < 3; ++i) h.list_sizes[i] = static_cast<int>(entries[i].size());
  if (h.signal >= ingest::v1::SIGNAL_LOGS && h.signal <= ingest::v1::SIGNAL_METRICS)
    h.resources = std::move(entries[h.signal - 1]);
  return h;
}

void RemoveRecords(ingest::v1::BulkBatch* batch, const std::vector<bool>& drop) {
  size_t index = 0;
  switch (batch->signal()) {
    case ingest::v1::SIGNAL_LOGS:
      RemoveFrom(
          batch->mutable_resource_logs(), [](auto* r) { return r->mutable_scope_logs(); },
          [](auto* s) { return s->mutable_log_records(); }, drop, &index);
      break;
    case ingest::v1::SIGNAL_TRACES:
      RemoveFrom(
          batch->mutable_resource_spans(), [](auto* r) { return r->mutable_scope_spans(); },
          [](auto* s) { return s->mutable_spans(); }, drop, &index);
      break;
    case ingest::v1::SIGNAL_METRICS:
      RemoveFrom(
          batch->mutable_resource_metrics(), [](auto* r) { return r->mutable_scope_metrics(); },
          [](auto* s) { return s->mutable_metrics(); }, drop, &index);
      break;
    default:
      break;
  }
}

}  // namespace openwit::otlp
