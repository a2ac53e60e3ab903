#include "ingest/otlp_wire.h"

#include <cstring>

#include <arrow/util/utf8.h>
#include <fmt/format.h>

namespace openwit::ingest::wire {

// Every decode step returns on anything but kOk.
#define OPENWIT_WIRE_RETURN(expr)                        \
  do {                                                   \
    if (const Decoded d_ = (expr); d_ != Decoded::kOk) { \
      return d_;                                         \
    }                                                    \
  } while (false)

namespace {

constexpr uint32_t kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5;

// Arrow's validator reads tables made once.
[[maybe_unused]] const bool kUtf8TablesReady = (arrow::util::InitializeUTF8(), true);

// The end of a message's fields: a reader error leaves the message to protobuf.
Decoded Ended(const Reader& r) { return r.error() == Reader::Error::kNone ? Decoded::kOk : Decoded::kUseProtobuf; }

}  // namespace

bool IsUtf8(std::string_view text) { return arrow::util::ValidateUTF8(text); }

bool Reader::Varint(uint64_t* out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64 && pos_ < data_.size(); shift += 7) {
    const auto byte = static_cast<uint8_t>(data_[pos_++]);
    v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      *out = v;
      return true;
    }
  }
  return false;
}

bool Reader::Next(Field* f) {
  if (pos_ >= data_.size()) return false;
  uint64_t tag;
  if (!Varint(&tag) || (tag >> 3) == 0 || (tag >> 3) > UINT32_MAX) {
    error_ = Error::kMalformed;
    return false;
  }
  f->number = static_cast<uint32_t>(tag >> 3);
  f->type = static_cast<uint32_t>(tag & 7);
  f->bytes = {};
  switch (f->type) {
    case kVarint:
      if (!Varint(&f->scalar)) break;
      return true;
    case kFixed64:
      if (data_.size() - pos_ < 8) break;
      std::memcpy(&f->scalar, data_.data() + pos_, 8);  // little-endian, as this machine
      pos_ += 8;
      return true;
    case kFixed32: {
      if (data_.size() - pos_ < 4) break;
      uint32_t v;
      std::memcpy(&v, data_.data() + pos_, 4);
      f->scalar = v;
      pos_ += 4;
      return true;
    }
    case kLen: {
      uint64_t length;
      if (!Varint(&length) || data_.size() - pos_ < length) break;
      f->bytes = data_.substr(pos_, length);
      pos_ += length;
      return true;
    }
    case 3:
    case 4:
      error_ = Error::kGroup;
      return false;
    default:
      break;
  }
  error_ = Error::kMalformed;
  return false;
}

double AnyValue::double_value() const {
  double d;
  std::memcpy(&d, &scalar_, sizeof(d));
  return d;
}

void Decoder::Clear() {
  kvs_.clear();
  parsed_values_.clear();
  path_.clear();
}

Decoded Decoder::Utf8(std::string_view text, const char* field) {
  if (ARROW_PREDICT_TRUE(IsUtf8(text))) return Decoded::kOk;
  std::string path;
  for (const PathPart& part : path_) {
    if (!path.empty()) path.push_back('.');
    path += part.index < 0 ? std::string(part.name) : fmt::format("{}[{}]", part.name, part.index);
  }
  status_ = arrow::Status::Invalid(path, path.empty() ? "" : ".", field, ": not valid UTF-8");
  return Decoded::kInvalid;
}

Decoded Decoder::DecodeValue(std::string_view bytes, AnyValue* out) {
  *out = AnyValue();
  bool nested = false;
  Reader r(bytes);
  for (Reader::Field f; r.Next(&f);) {
    // A oneof: the last member given wins; a field of another wire type is an unknown field.
    switch (f.number * 8 + f.type) {
      case 1 * 8 + kLen:
        OPENWIT_WIRE_RETURN(Utf8(f.bytes, "string_value"));
        out->case_ = pb::AnyValue::kStringValue;
        out->text_ = f.bytes;
        break;
      case 2 * 8 + kVarint:
        out->case_ = pb::AnyValue::kBoolValue;
        out->scalar_ = f.scalar != 0;
        break;
      case 3 * 8 + kVarint:
        out->case_ = pb::AnyValue::kIntValue;
        out->scalar_ = f.scalar;
        break;
      case 4 * 8 + kFixed64:
        out->case_ = pb::AnyValue::kDoubleValue;
        out->scalar_ = f.scalar;
        break;
      case 5 * 8 + kLen:
      case 6 * 8 + kLen:
        nested = true;
        break;
      case 7 * 8 + kLen:
        out->case_ = pb::AnyValue::kBytesValue;
        out->text_ = f.bytes;
        break;
      case 8 * 8 + kVarint:
        out->case_ = pb::AnyValue::kStringValueStrindex;
        out->scalar_ = f.scalar;
        break;
      default:
        break;
    }
  }
  OPENWIT_WIRE_RETURN(Ended(r));
  if (!nested) return Decoded::kOk;
  // An array or kvlist somewhere in the value: protobuf parses the value (and merges repeats).
  pb::AnyValue& parsed = parsed_values_.emplace_back();
  if (!parsed.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return Decoded::kUseProtobuf;
  *out = AnyValue();
  out->case_ = parsed.value_case();
  out->parsed_ = &parsed;
  switch (parsed.value_case()) {
    case pb::AnyValue::kStringValue:
      out->text_ = parsed.string_value();
      break;
    case pb::AnyValue::kBytesValue:
      out->text_ = parsed.bytes_value();
      break;
    case pb::AnyValue::kBoolValue:
      out->scalar_ = parsed.bool_value();
      break;
    case pb::AnyValue::kIntValue:
      out->scalar_ = static_cast<uint64_t>(parsed.int_value());
      break;
    case pb::AnyValue::kDoubleValue: {
      const double d = parsed.double_value();
      std::memcpy(&out->scalar_, &d, sizeof(d));
      break;
    }
    default:
      break;
  }
  return Decoded::kOk;
}

Decoded Decoder::AddAttribute(std::string_view bytes, Slice* slice) {
  if (slice->size == 0) {
    slice->first = static_cast<uint32_t>(kvs_.size());
  } else if (slice->first + slice->size != kvs_.size()) {
    // The list's attributes are interleaved with a nested message's (a span's with its events'):
    // not one run of kvs_. Never so in what protobuf writes (fields in order).
    return Decoded::kUseProtobuf;
  }
  At at(this, "attributes", static_cast<int>(slice->size));
  ++slice->size;
  KeyValue& kv = kvs_.emplace_back();
  bool has_value = false;
  Reader r(bytes);
  for (Reader::Field f; r.Next(&f);) {
    if (f.type != kLen) continue;  // key_strindex, unknown fields
    if (f.number == 1) {
      OPENWIT_WIRE_RETURN(Utf8(f.bytes, "key"));
      kv.key_ = f.bytes;
    } else if (f.number == 2) {
      if (has_value) return Decoded::kUseProtobuf;  // protobuf merges the two
      has_value = true;
      At value(this, "value");
      OPENWIT_WIRE_RETURN(DecodeValue(f.bytes, &kv.value_));
    }
  }
  return Ended(r);
}

Decoded Decoder::DecodeResource(std::string_view bytes, Resource* out) {
  At at(this, "resource");
  Reader r(bytes);
  for (Reader::Field f; r.Next(&f);) {
    if (f.type != kLen) continue;  // dropped_attributes_count, unknown fields
    if (f.number == 1) {
      OPENWIT_WIRE_RETURN(AddAttribute(f.bytes, &out->attribute_slice_));
    } else if (f.number == 3) {
      return Decoded::kUseProtobuf;  // entity_refs: unused here, but their strings must be checked
    }
  }
  return Ended(r);
}

Decoded Decoder::DecodeScope(std::string_view bytes, InstrumentationScope* out) {
  At at(this, "scope");
  Reader r(bytes);
  for (Reader::Field f; r.Next(&f);) {
    switch (f.number * 8 + f.type) {
      case 1 * 8 + kLen:
        OPENWIT_WIRE_RETURN(Utf8(f.bytes, "name"));
        out->name_ = f.bytes;
        break;
      case 2 * 8 + kLen:
        OPENWIT_WIRE_RETURN(Utf8(f.bytes, "version"));
        out->version_ = f.bytes;
        break;
      case 3 * 8 + kLen:
        OPENWIT_WIRE_RETURN(AddAttribute(f.bytes, &out->attribute_slice_));
        break;
      case 4 * 8 + kVarint:
        out->dropped_attributes_count_ = static_cast<uint32_t>(f.scalar);
        break;
      default:
        break;
    }
  }
  return Ended(r);
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
      OPENWIT_WIRE_RETURN(Utf8(f.bytes, "schema_url"));
      resource->schema_url_ = f.bytes;
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
          OPENWIT_WIRE_RETURN(Utf8(g.bytes, "schema_url"));
          scope.schema_url_ = g.bytes;
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

Decoded LogsDecoder::Decode(std::string_view bytes, int index) {
  OPENWIT_WIRE_RETURN(DecodeResourceOf(bytes, index, {"resource_logs", "scope_logs", "log_records"}, &resource_,
                                       &scopes_, &records_,
                                       [this](std::string_view b, LogRecord* rec) { return DecodeRecord(b, rec); }));
  for (LogRecord& rec : records_) rec.attributes_ = View(rec.attribute_slice_);
  return Decoded::kOk;
}

Decoded LogsDecoder::DecodeRecord(std::string_view bytes, LogRecord* out) {
  bool has_body = false;
  Reader r(bytes);
  for (Reader::Field f; r.Next(&f);) {
    switch (f.number * 8 + f.type) {
      case 1 * 8 + kFixed64:
        out->time_unix_nano_ = f.scalar;
        break;
      case 2 * 8 + kVarint:
        out->severity_number_ = static_cast<int32_t>(f.scalar);  // an open enum: any int32
        break;
      case 3 * 8 + kLen:
        OPENWIT_WIRE_RETURN(Utf8(f.bytes, "severity_text"));
        out->severity_text_ = f.bytes;
        break;
      case 5 * 8 + kLen: {
        if (has_body) return Decoded::kUseProtobuf;  // protobuf merges the two
        has_body = true;
        At body(this, "body");
        OPENWIT_WIRE_RETURN(DecodeValue(f.bytes, &out->body_));
        break;
      }
      case 6 * 8 + kLen:
        OPENWIT_WIRE_RETURN(AddAttribute(f.bytes, &out->attribute_slice_));
        break;
      case 8 * 8 + kFixed32:
        out->flags_ = static_cast<uint32_t>(f.scalar);
        break;
      case 9 * 8 + kLen:
        out->trace_id_ = f.bytes;
        break;
      case 10 * 8 + kLen:
        out->span_id_ = f.bytes;
        break;
      case 11 * 8 + kFixed64:
        out->observed_time_unix_nano_ = f.scalar;
        break;
      case 12 * 8 + kLen:
        OPENWIT_WIRE_RETURN(Utf8(f.bytes, "event_name"));
        out->event_name_ = f.bytes;
        break;
      default:  // dropped_attributes_count (not in the table), unknown fields
        break;
    }
  }
  return Ended(r);
}

Decoded TracesDecoder::Decode(std::string_view bytes, int index) {
  events_.clear();
  links_.clear();
  OPENWIT_WIRE_RETURN(DecodeResourceOf(bytes, index, {"resource_spans", "scope_spans", "spans"}, &resource_, &scopes_,
                                       &records_,
                                       [this](std::string_view b, Span* span) { return DecodeSpan(b, span); }));
  for (Span& span : records_) {
    span.attributes_ = View(span.attribute_slice_);
    span.events_ = View(events_, span.event_slice_);
    span.links_ = View(links_, span.link_slice_);
  }
  for (SpanEvent& e : events_) e.attributes_ = View(e.attribute_slice_);
  for (SpanLink& l : links_) l.attributes_ = View(l.attribute_slice_);
  return Decoded::kOk;
}

Decoded TracesDecoder::DecodeSpan(std::string_view bytes, Span* out) {
  bool has_status = false;
  out->event_slice_.first = static_cast<uint32_t>(events_.size());
  out->link_slice_.first = static_cast<uint32_t>(links_.size());
  Reader r(bytes);
  for (Reader::Field f; r.Next(&f);) {
    switch (f.number * 8 + f.type) {
      case 1 * 8 + kLen:
        out->trace_id_ = f.bytes;
        break;
      case 2 * 8 + kLen:
        out->span_id_ = f.bytes;
        break;
      case 3 * 8 + kLen:
        OPENWIT_WIRE_RETURN(Utf8(f.bytes, "trace_state"));
        out->trace_state_ = f.bytes;
        break;
      case 4 * 8 + kLen:
        out->parent_span_id_ = f.bytes;
        break;
      case 5 * 8 + kLen:
        OPENWIT_WIRE_RETURN(Utf8(f.bytes, "name"));
        out->name_ = f.bytes;
        break;
      case 6 * 8 + kVarint:
        out->kind_ = static_cast<int32_t>(f.scalar);
        break;
      case 7 * 8 + kFixed64:
        out->start_time_unix_nano_ = f.scalar;
        break;
      case 8 * 8 + kFixed64:
        out->end_time_unix_nano_ = f.scalar;
        break;
      case 9 * 8 + kLen:
        OPENWIT_WIRE_RETURN(AddAttribute(f.bytes, &out->attribute_slice_));
        break;
      case 11 * 8 + kLen: {
        At at(this, "events", static_cast<int>(out->event_slice_.size));
        ++out->event_slice_.size;
        OPENWIT_WIRE_RETURN(DecodeEvent(f.bytes, &events_.emplace_back()));
        break;
      }
      case 13 * 8 + kLen: {
        At at(this, "links", static_cast<int>(out->link_slice_.size));
        ++out->link_slice_.size;
        OPENWIT_WIRE_RETURN(DecodeLink(f.bytes, &links_.emplace_back()));
        break;
      }
      case 15 * 8 + kLen: {
        if (has_status) return Decoded::kUseProtobuf;  // protobuf merges the two
        has_status = true;
        At at(this, "status");
        OPENWIT_WIRE_RETURN(DecodeStatus(f.bytes, &out->status_));
        break;
      }
      default:  // dropped counts, flags (not in the table), unknown fields
        break;
    }
  }
  return Ended(r);
}

// An event's or a link's attributes are decoded before the next event or link is added, so each
// list's attributes are contiguous in kvs_ as AddAttribute needs.
Decoded TracesDecoder::DecodeEvent(std::string_view bytes, SpanEvent* out) {
  Reader r(bytes);
  for (Reader::Field f; r.Next(&f);) {
    switch (f.number * 8 + f.type) {
      case 1 * 8 + kFixed64:
        out->time_unix_nano_ = f.scalar;
        break;
      case 2 * 8 + kLen:
        OPENWIT_WIRE_RETURN(Utf8(f.bytes, "name"));
        out->name_ = f.bytes;
        break;
      case 3 * 8 + kLen:
        OPENWIT_WIRE_RETURN(AddAttribute(f.bytes, &out->attribute_slice_));
        break;
      default:
        break;
    }
  }
  return Ended(r);
}

Decoded TracesDecoder::DecodeLink(std::string_view bytes, SpanLink* out) {
  Reader r(bytes);
  for (Reader::Field f; r.Next(&f);) {
    switch (f.number * 8 + f.type) {
      case 1 * 8 + kLen:
        out->trace_id_ = f.bytes;
        break;
      case 2 * 8 + kLen:
        out->span_id_ = f.bytes;
        break;
      case 3 * 8 + kLen:
        OPENWIT_WIRE_RETURN(Utf8(f.bytes, "trace_state"));
        out->trace_state_ = f.bytes;
        break;
      case 4 * 8 + kLen:
        OPENWIT_WIRE_RETURN(AddAttribute(f.bytes, &out->attribute_slice_));
        break;
      default:
        break;
    }
  }
  return Ended(r);
}

Decoded TracesDecoder::DecodeStatus(std::string_view bytes, SpanStatus* out) {
  Reader r(bytes);
  for (Reader::Field f; r.Next(&f);) {
    if (f.number == 2 && f.type == kLen) {
      OPENWIT_WIRE_RETURN(Utf8(f.bytes, "message"));
      out->message_ = f.bytes;
    } else if (f.number == 3 && f.type == kVarint) {
      out->code_ = static_cast<int32_t>(f.scalar);
    }
  }
  return Ended(r);
}

namespace {

double Double(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof(d));
  return d;
}

int32_t ZigZag32(uint64_t varint) {
  const auto v = static_cast<uint32_t>(varint);  // protobuf reads a sint32 as 32 bits
  return static_cast<int32_t>((v >> 1) ^ (~(v & 1) + 1));
}

const char* KindName(pm::Metric::DataCase kind) {
  switch (kind) {
    case pm::Metric::kGauge:
      return "gauge";
    case pm::Metric::kSum:
      return "sum";
    case pm::Metric::kHistogram:
      return "histogram";
    case pm::Metric::kExponentialHistogram:
      return "exponential_histogram";
    default:
      return "summary";
  }
}

}  // namespace

Decoded MetricsDecoder::Decode(std::string_view bytes, int index) {
  points_.clear();
  exemplars_.clear();
  quantiles_.clear();
  u64_.clear();
  f64_.clear();
  OPENWIT_WIRE_RETURN(DecodeResourceOf(bytes, index, {"resource_metrics", "scope_metrics", "metrics"}, &resource_,
                                       &scopes_, &records_,
                                       [this](std::string_view b, Metric* m) { return DecodeMetric(b, m); }));
  for (Metric& m : records_) m.data_.points_ = View(points_, m.data_.point_slice_);
  auto numbers = [](auto& n, const auto& all) { n.values_ = View(all, n.slice_); };
  for (DataPoint& p : points_) {
    p.attributes_ = View(p.attribute_slice_);
    p.exemplars_ = View(exemplars_, p.exemplar_slice_);
    p.quantiles_ = View(quantiles_, p.quantile_slice_);
    numbers(p.bucket_counts_, u64_);
    numbers(p.explicit_bounds_, f64_);
    numbers(p.positive_.bucket_counts_, u64_);
    numbers(p.negative_.bucket_counts_, u64_);
  }
  for (Exemplar& e : exemplars_) e.attributes_ = View(e.attribute_slice_);
  return Decoded::kOk;
}

Decoded MetricsDecoder::DecodeMetric(std::string_view bytes, Metric* out) {
  Slice metadata;  // checked as protobuf would, not kept
  Reader r(bytes);
  for (Reader::Field f; r.Next(&f);) {
    if (f.type != kLen) continue;
    switch (f.number) {
      case 1:
        OPENWIT_WIRE_RETURN(Utf8(f.bytes, "name"));
        out->name_ = f.bytes;
        break;
      case 2:
        OPENWIT_WIRE_RETURN(Utf8(f.bytes, "description"));
        out->description_ = f.bytes;
        break;
      case 3:
        OPENWIT_WIRE_RETURN(Utf8(f.bytes, "unit"));
        out->unit_ = f.bytes;
        break;
      case pm::Metric::kGauge:
      case pm::Metric::kSum:
      case pm::Metric::kHistogram:
      case pm::Metric::kExponentialHistogram:
      case pm::Metric::kSummary: {
        // One kind given once is the rule; anything else (a kind replaced or merged) is protobuf's.
        if (out->data_case_ != pm::Metric::DATA_NOT_SET) return Decoded::kUseProtobuf;
        out->data_case_ = static_cast<pm::Metric::DataCase>(f.number);
        At at(this, KindName(out->data_case_));
        OPENWIT_WIRE_RETURN(DecodeData(f.bytes, out->data_case_, &out->data_));
        break;
      }
      case 12: {
        At at(this, "metadata");
        metadata = Slice();
        OPENWIT_WIRE_RETURN(AddAttribute(f.bytes, &metadata));
        break;
      }
      default:
        break;
    }
  }
  return Ended(r);
}

Decoded MetricsDecoder::DecodeData(std::string_view bytes, pm::Metric::DataCase kind, MetricData* out) {
  const bool has_temporality =
      kind == pm::Metric::kSum || kind == pm::Metric::kHistogram || kind == pm::Metric::kExponentialHistogram;
  out->point_slice_.first = static_cast<uint32_t>(points_.size());
  Reader r(bytes);
  for (Reader::Field f; r.Next(&f);) {
    if (f.number == 1 && f.type == kLen) {
      At at(this, "data_points", static_cast<int>(out->point_slice_.size));
      ++out->point_slice_.size;
      OPENWIT_WIRE_RETURN(DecodePoint(f.bytes, kind, &points_.emplace_back()));
    } else if (f.number == 2 && f.type == kVarint && has_temporality) {
      out->temporality_ = static_cast<pm::AggregationTemporality>(static_cast<int32_t>(f.scalar));
    } else if (f.number == 3 && f.type == kVarint && kind == pm::Metric::kSum) {
      out->is_monotonic_ = f.scalar != 0;
    }
  }
  return Ended(r);
}

template <class T>
Decoded MetricsDecoder::AddNumbers(const Reader::Field& f, bool fixed, std::vector<T>* all, Numbers<T>* out) {
  if (f.type != kLen && f.type != (fixed ? kFixed64 : kVarint)) return Decoded::kOk;  // an unknown field
  if (out->slice_.size == 0) {
    out->slice_.first = static_cast<uint32_t>(all->size());
  } else if (out->slice_.first + out->slice_.size != all->size()) {
    return Decoded::kUseProtobuf;  // not one run: never so in what protobuf writes
  }
  const size_t before = all->size();
  auto add = [&](uint64_t bits) {
    if constexpr (std::is_same_v<T, double>) {
      all->push_back(Double(bits));
    } else {
      all->push_back(bits);
    }
  };
  if (f.type != kLen) {
    add(f.scalar);
  } else if (fixed) {  // packed fixed64 or double
    if (f.bytes.size() % 8 != 0) return Decoded::kUseProtobuf;
    for (size_t i = 0; i < f.bytes.size(); i += 8) {
      uint64_t bits;
      std::memcpy(&bits, f.bytes.data() + i, 8);
      add(bits);
    }
  } else {  // packed varints: a message of field-less varints, read with the varint field reader
    for (size_t pos = 0; pos < f.bytes.size();) {
      uint64_t v = 0;
      for (int shift = 0;; shift += 7) {
        if (shift >= 64 || pos >= f.bytes.size()) return Decoded::kUseProtobuf;
        const auto byte = static_cast<uint8_t>(f.bytes[pos++]);
        v |= static_cast<uint64_t>(byte & 0x7f) << shift;
        if (!(byte & 0x80)) break;
      }
      add(v);
    }
  }
  out->slice_.size += static_cast<uint32_t>(all->size() - before);
  return Decoded::kOk;
}

Decoded MetricsDecoder::DecodePoint(std::string_view bytes, pm::Metric::DataCase kind, DataPoint* out) {
  // Field numbers of each kind (0: the kind has no such field).
  struct Fields {
    uint32_t attributes, exemplars, flags, count, sum, bucket_counts, explicit_bounds, min, max;
  };
  static constexpr Fields kNumber{7, 5, 8, 0, 0, 0, 0, 0, 0};
  static constexpr Fields kHistogram{9, 8, 10, 4, 5, 6, 7, 11, 12};
  static constexpr Fields kExponential{1, 11, 10, 4, 5, 0, 0, 12, 13};
  static constexpr Fields kSummary{7, 0, 8, 4, 5, 0, 0, 0, 0};
  const Fields& fields = kind == pm::Metric::kHistogram              ? kHistogram
                         : kind == pm::Metric::kExponentialHistogram ? kExponential
                         : kind == pm::Metric::kSummary              ? kSummary
                                                                     : kNumber;
  const bool number = kind == pm::Metric::kGauge || kind == pm::Metric::kSum;
  const bool exponential = kind == pm::Metric::kExponentialHistogram;
  out->exemplar_slice_.first = static_cast<uint32_t>(exemplars_.size());
  out->quantile_slice_.first = static_cast<uint32_t>(quantiles_.size());
  bool has_positive = false, has_negative = false;
  Reader r(bytes);
  for (Reader::Field f; r.Next(&f);) {
    const uint32_t n = f.number;
    if (n == 2 && f.type == kFixed64) {
      out->start_time_unix_nano_ = f.scalar;
    } else if (n == 3 && f.type == kFixed64) {
      out->time_unix_nano_ = f.scalar;
    } else if (n == fields.attributes && f.type == kLen) {
      OPENWIT_WIRE_RETURN(AddAttribute(f.bytes, &out->attribute_slice_));
    } else if (n == fields.exemplars && f.type == kLen) {
      At at(this, "exemplars", static_cast<int>(out->exemplar_slice_.size));
      ++out->exemplar_slice_.size;
      OPENWIT_WIRE_RETURN(DecodeExemplar(f.bytes, &exemplars_.emplace_back()));
    } else if (n == fields.flags && f.type == kVarint) {
      out->flags_ = static_cast<uint32_t>(f.scalar);
    } else if (number && (n == 4 || n == 6) && f.type == kFixed64) {  // the value: a oneof
      out->value_case_ = n == 4 ? pm::NumberDataPoint::kAsDouble : pm::NumberDataPoint::kAsInt;
      out->as_double_ = Double(f.scalar);
      out->as_int_ = static_cast<int64_t>(f.scalar);
    } else if (n == fields.count && f.type == kFixed64) {
      out->count_ = f.scalar;
    } else if (n == fields.sum && f.type == kFixed64) {
      out->has_sum_ = true;
      out->sum_ = Double(f.scalar);
    } else if (n == fields.min && f.type == kFixed64) {
      out->has_min_ = true;
      out->min_ = Double(f.scalar);
    } else if (n == fields.max && f.type == kFixed64) {
      out->has_max_ = true;
      out->max_ = Double(f.scalar);
    } else if (n == fields.bucket_counts) {
      OPENWIT_WIRE_RETURN(AddNumbers(f, /*fixed=*/true, &u64_, &out->bucket_counts_));
    } else if (n == fields.explicit_bounds) {
      OPENWIT_WIRE_RETURN(AddNumbers(f, /*fixed=*/true, &f64_, &out->explicit_bounds_));
    } else if (exponential && n == 6 && f.type == kVarint) {
      out->scale_ = ZigZag32(f.scalar);
    } else if (exponential && n == 7 && f.type == kFixed64) {
      out->zero_count_ = f.scalar;
    } else if (exponential && (n == 8 || n == 9) && f.type == kLen) {
      bool& seen = n == 8 ? has_positive : has_negative;
      if (seen) return Decoded::kUseProtobuf;  // protobuf merges the two
      seen = true;
      OPENWIT_WIRE_RETURN(DecodeBuckets(f.bytes, n == 8 ? &out->positive_ : &out->negative_));
    } else if (exponential && n == 14 && f.type == kFixed64) {
      out->zero_threshold_ = Double(f.scalar);
    } else if (kind == pm::Metric::kSummary && n == 6 && f.type == kLen) {
      DataPoint::ValueAtQuantile& q = quantiles_.emplace_back();
      ++out->quantile_slice_.size;
      Reader qr(f.bytes);
      for (Reader::Field g; qr.Next(&g);) {
        if (g.type != kFixed64) continue;
        if (g.number == 1) q.quantile_ = Double(g.scalar);
        if (g.number == 2) q.value_ = Double(g.scalar);
      }
      OPENWIT_WIRE_RETURN(Ended(qr));
    }
  }
  return Ended(r);
}

Decoded MetricsDecoder::DecodeBuckets(std::string_view bytes, DataPoint::Buckets* out) {
  Reader r(bytes);
  for (Reader::Field f; r.Next(&f);) {
    if (f.number == 1 && f.type == kVarint) {
      out->offset_ = ZigZag32(f.scalar);
    } else if (f.number == 2) {
      OPENWIT_WIRE_RETURN(AddNumbers(f, /*fixed=*/false, &u64_, &out->bucket_counts_));
    }
  }
  return Ended(r);
}

Decoded MetricsDecoder::DecodeExemplar(std::string_view bytes, Exemplar* out) {
  Reader r(bytes);
  for (Reader::Field f; r.Next(&f);) {
    switch (f.number * 8 + f.type) {
      case 7 * 8 + kLen:
        OPENWIT_WIRE_RETURN(AddAttribute(f.bytes, &out->attribute_slice_));
        break;
      case 2 * 8 + kFixed64:
        out->time_unix_nano_ = f.scalar;
        break;
      case 3 * 8 + kFixed64:
        out->value_case_ = pm::Exemplar::kAsDouble;
        out->as_double_ = Double(f.scalar);
        break;
      case 6 * 8 + kFixed64:
        out->value_case_ = pm::Exemplar::kAsInt;
        out->as_int_ = static_cast<int64_t>(f.scalar);
        break;
      case 4 * 8 + kLen:
        out->span_id_ = f.bytes;
        break;
      case 5 * 8 + kLen:
        out->trace_id_ = f.bytes;
        break;
      default:
        break;
    }
  }
  return Ended(r);
}

#undef OPENWIT_WIRE_RETURN

}  // namespace openwit::ingest::wire
