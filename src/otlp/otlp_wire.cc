#include "otlp/otlp_wire.h"
#include "otlp/otlp_wire_internal.h"

#include <cstring>

#include <arrow/util/utf8.h>
#include <fmt/format.h>

namespace openwit::otlp::wire {

namespace {

// Arrow's validator reads tables made once.
[[maybe_unused]] const bool kUtf8TablesReady = (arrow::util::InitializeUTF8(), true);

}  // namespace

bool IsUtf8(std::string_view text) { return arrow::util::ValidateUTF8(text); }

bool Reader::ReadVarint(std::string_view data, size_t* pos, uint64_t* out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64 && *pos < data.size(); shift += 7) {
    const auto byte = static_cast<uint8_t>(data[(*pos)++]);
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

Decoded Decoder::Text(std::string_view bytes, const char* field, std::string_view* out) {
  if (ARROW_PREDICT_TRUE(IsUtf8(bytes))) {
    *out = bytes;
    return Decoded::kOk;
  }
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
        OPENWIT_WIRE_RETURN(Text(f.bytes, "string_value", &out->text_));
        out->case_ = pb::AnyValue::kStringValue;
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
      OPENWIT_WIRE_RETURN(Text(f.bytes, "key", &kv.key_));
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
        OPENWIT_WIRE_RETURN(Text(f.bytes, "name", &out->name_));
        break;
      case 2 * 8 + kLen:
        OPENWIT_WIRE_RETURN(Text(f.bytes, "version", &out->version_));
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

}  // namespace openwit::otlp::wire
