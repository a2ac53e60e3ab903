#pragma once
// What the wire decoders of otlp_wire_{logs,traces,metrics}.cc share with otlp_wire.cc: the return
// macro, wire types, and the decode of a resource / scope / record tree. Internal: otlp_wire.h is
// the interface.

#include <string_view>
#include <vector>

#include "otlp/otlp_wire.h"

namespace openwit::otlp::wire {

// Every decode step returns on anything but kOk.
#define OPENWIT_WIRE_RETURN(expr)                        \
  do {                                                   \
    if (const Decoded d_ = (expr); d_ != Decoded::kOk) { \
      return d_;                                         \
    }                                                    \
  } while (false)

inline constexpr uint32_t kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5;

// The end of a message's fields: a reader error leaves the message to protobuf.
inline Decoded Ended(const Reader& r) {
  return r.error() == Reader::Error::kNone ? Decoded::kOk : Decoded::kUseProtobuf;
}

template <class ResourceT, class ScopeT, class RecordT, class DecodeRecord>
Decoded Decoder::DecodeResourceOf(std::string_view bytes, int index, const ListNames& names, ResourceT* resource,
                                  std::vector<ScopeT>* scopes, std::vector<RecordT>* records,
                                  DecodeRecord&& decode_record) {
  Clear();
  scopes->clear();
  records->clear();
  *resource = ResourceT();
  At at(this, names.resources, index);
  bool has_resource = false;
  Reader r(bytes);
  for (Reader::Field f; r.Next(&f);) {
    if (f.type != kLen) continue;
    if (f.number == 1) {
      if (has_resource) return Decoded::kUseProtobuf;  // protobuf merges the two
      has_resource = true;
      OPENWIT_WIRE_RETURN(DecodeResource(f.bytes, &resource->resource_));
    } else if (f.number == 3) {
      OPENWIT_WIRE_RETURN(Text(f.bytes, "schema_url", &resource->schema_url_));
    } else if (f.number == 2) {
      At scope_at(this, names.scopes, static_cast<int>(scopes->size()));
      ScopeT& scope = scopes->emplace_back();
      scope.record_slice_.first = static_cast<uint32_t>(records->size());
      bool has_scope = false;
      Reader s(f.bytes);
      for (Reader::Field g; s.Next(&g);) {
        if (g.type != kLen) continue;
        if (g.number == 1) {
          if (has_scope) return Decoded::kUseProtobuf;
          has_scope = true;
          OPENWIT_WIRE_RETURN(DecodeScope(g.bytes, &scope.scope_));
        } else if (g.number == 2) {
          At record_at(this, names.records, static_cast<int>(scope.record_slice_.size));
          ++scope.record_slice_.size;
          OPENWIT_WIRE_RETURN(decode_record(g.bytes, &records->emplace_back()));
        } else if (g.number == 3) {
          OPENWIT_WIRE_RETURN(Text(g.bytes, "schema_url", &scope.schema_url_));
        }
      }
      OPENWIT_WIRE_RETURN(Ended(s));
    }
  }
  OPENWIT_WIRE_RETURN(Ended(r));
  // The storage no longer grows: the views.
  resource->resource_.attributes_ = View(resource->resource_.attribute_slice_);
  for (ScopeT& scope : *scopes) {
    scope.scope_.attributes_ = View(scope.scope_.attribute_slice_);
    scope.records_ = View(*records, scope.record_slice_);
  }
  resource->scopes_ = *scopes;
  return Decoded::kOk;
}

}  // namespace openwit::otlp::wire
