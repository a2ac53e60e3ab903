// Spans read from the wire format (otlp_wire.h).

#include "otlp/otlp_wire.h"
#include "otlp/otlp_wire_internal.h"

namespace openwit::otlp::wire {

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
        OPENWIT_WIRE_RETURN(Text(f.bytes, "trace_state", &out->trace_state_));
        break;
      case 4 * 8 + kLen:
        out->parent_span_id_ = f.bytes;
        break;
      case 5 * 8 + kLen:
        OPENWIT_WIRE_RETURN(Text(f.bytes, "name", &out->name_));
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
        OPENWIT_WIRE_RETURN(Text(f.bytes, "name", &out->name_));
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
        OPENWIT_WIRE_RETURN(Text(f.bytes, "trace_state", &out->trace_state_));
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
      OPENWIT_WIRE_RETURN(Text(f.bytes, "message", &out->message_));
    } else if (f.number == 3 && f.type == kVarint) {
      out->code_ = static_cast<int32_t>(f.scalar);
    }
  }
  return Ended(r);
}

}  // namespace openwit::otlp::wire
