// Logs read from the wire format (otlp_wire.h).

#include "otlp/otlp_wire.h"
#include "otlp/otlp_wire_internal.h"

namespace openwit::otlp::wire {

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
        OPENWIT_WIRE_RETURN(Text(f.bytes, "severity_text", &out->severity_text_));
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
        OPENWIT_WIRE_RETURN(Text(f.bytes, "event_name", &out->event_name_));
        break;
      default:  // dropped_attributes_count (not in the table), unknown fields
        break;
    }
  }
  return Ended(r);
}

}  // namespace openwit::otlp::wire
