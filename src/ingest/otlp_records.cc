#include "ingest/otlp_records.h"

#include <arrow/util/hashing.h>

namespace openwit::ingest {
namespace {

uint64_t HashBytes(std::string_view bytes) {
  return arrow::internal::ComputeStringHash<0>(bytes.data(), static_cast<int64_t>(bytes.size()));
}

uint64_t Combine(uint64_t a, uint64_t b) { return a ^ (b + 0x9e3779b97f4a7c15ull + (a << 6) + (a >> 2)); }

// Reads the protobuf fields of one message: (field number, wire type, bytes of a LEN field).
class WireReader {
 public:
  explicit WireReader(std::string_view data) : data_(data) {}
  // False at the end; sets *ok = false on malformed input.
  bool Next(uint32_t* field, std::string_view* value, bool* ok) {
    if (pos_ >= data_.size()) return false;
    uint64_t tag;
    if (!Varint(&tag)) return *ok = false;
    *field = static_cast<uint32_t>(tag >> 3);
    switch (tag & 7) {
      case 0: {  // varint
        uint64_t ignored;
        if (!Varint(&ignored)) return *ok = false;
        *value = {};
        return true;
      }
      case 1:  // 64-bit
        if (data_.size() - pos_ < 8) return *ok = false;
        pos_ += 8;
        *value = {};
        return true;
      case 5:  // 32-bit
        if (data_.size() - pos_ < 4) return *ok = false;
        pos_ += 4;
        *value = {};
        return true;
      case 2: {  // length-delimited
        uint64_t length;
        if (!Varint(&length) || data_.size() - pos_ < length) return *ok = false;
        *value = data_.substr(pos_, length);
        pos_ += length;
        return true;
      }
      default:
        return *ok = false;
    }
  }

 private:
  bool Varint(uint64_t* out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && pos_ < data_.size(); shift += 7) {
      uint8_t byte = static_cast<uint8_t>(data_[pos_++]);
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) {
        *out = v;
        return true;
      }
    }
    return false;
  }
  std::string_view data_;
  size_t pos_ = 0;
};

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

}  // namespace

arrow::Result<std::vector<uint64_t>> RecordKeys(std::string_view serialized_batch, const std::string& tenant,
                                                v1::Signal signal) {
  const uint32_t list_field = signal == v1::SIGNAL_LOGS ? 4 : signal == v1::SIGNAL_TRACES ? 5 : 6;
  const uint64_t seed = Combine(HashBytes(tenant), static_cast<uint64_t>(signal));
  std::vector<uint64_t> keys;
  bool ok = true;
  uint32_t field;
  std::string_view resource_entry, value;
  for (WireReader batch(serialized_batch); batch.Next(&field, &resource_entry, &ok);) {
    if (field != list_field) continue;
    // The resource comes before its scopes in our serialization; hash it first either way.
    uint64_t resource_hash = Combine(seed, HashBytes({}));
    for (WireReader r(resource_entry); r.Next(&field, &value, &ok);) {
      if (field == 1) resource_hash = Combine(seed, HashBytes(value));
    }
    for (WireReader r(resource_entry); r.Next(&field, &value, &ok);) {
      if (field != 2) continue;
      uint64_t scope_hash = Combine(resource_hash, HashBytes({}));
      std::string_view scope_entry = value, inner;
      for (WireReader s(scope_entry); s.Next(&field, &inner, &ok);) {
        if (field == 1) scope_hash = Combine(resource_hash, HashBytes(inner));
      }
      for (WireReader s(scope_entry); s.Next(&field, &inner, &ok);) {
        if (field == 2) keys.push_back(Combine(scope_hash, HashBytes(inner)));
      }
    }
  }
  if (!ok) return arrow::Status::Invalid("malformed bulk batch: protobuf wire format error");
  return keys;
}

void RemoveRecords(v1::BulkBatch* batch, const std::vector<bool>& drop) {
  size_t index = 0;
  switch (batch->signal()) {
    case v1::SIGNAL_LOGS:
      RemoveFrom(
          batch->mutable_resource_logs(), [](auto* r) { return r->mutable_scope_logs(); },
          [](auto* s) { return s->mutable_log_records(); }, drop, &index);
      break;
    case v1::SIGNAL_TRACES:
      RemoveFrom(
          batch->mutable_resource_spans(), [](auto* r) { return r->mutable_scope_spans(); },
          [](auto* s) { return s->mutable_spans(); }, drop, &index);
      break;
    case v1::SIGNAL_METRICS:
      RemoveFrom(
          batch->mutable_resource_metrics(), [](auto* r) { return r->mutable_scope_metrics(); },
          [](auto* s) { return s->mutable_metrics(); }, drop, &index);
      break;
    default:
      break;
  }
}

}  // namespace openwit::ingest
