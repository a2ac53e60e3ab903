#include "search/trace_view.h"

#include <map>
#include <optional>

#include <arrow/array.h>
#include <arrow/record_batch.h>
#include <arrow/util/base64.h>
#include <google/protobuf/util/json_util.h>

#include "search/arrow_cells.h"

namespace openwit::search {

namespace trace = opentelemetry::proto::trace::v1;
namespace common = opentelemetry::proto::common::v1;

const char* const kTraceColumns =
    "Timestamp, TraceId, SpanId, ParentSpanId, TraceState, SpanName, SpanKind, ServiceName, ResourceSchemaUrl, "
    "ResourceAttributes, ScopeSchemaUrl, ScopeName, ScopeVersion, ScopeAttributes, SpanAttributes, Duration, "
    "StatusCode, StatusMessage, Events, Links";

using cells::Bytes;
using cells::Int;
using cells::ListRange;
using cells::ListValues;
using cells::Nanos;

namespace {

// A map<utf8, utf8> cell as OTLP attributes (string values).
void AppendAttributes(const arrow::Array& map, int64_t i, google::protobuf::RepeatedPtrField<common::KeyValue>* out) {
  if (map.type_id() != arrow::Type::MAP) return;
  const auto& m = static_cast<const arrow::MapArray&>(map);
  auto [begin, end] = ListRange(map, i);
  for (int64_t j = begin; j < end; ++j) {
    auto* kv = out->Add();
    kv->set_key(std::string(Bytes(*m.keys(), j)));
    kv->mutable_value()->set_string_value(std::string(Bytes(*m.items(), j)));
  }
}

const arrow::Array* StructField(const arrow::Array* structs, const char* name) {
  if (structs == nullptr || structs->type_id() != arrow::Type::STRUCT) return nullptr;
  const auto& s = static_cast<const arrow::StructArray&>(*structs);
  auto field = s.GetFieldByName(name);
  return field ? field.get() : nullptr;
}

trace::Span::SpanKind KindOf(std::string_view text) {
  if (text == "Internal") return trace::Span::SPAN_KIND_INTERNAL;
  if (text == "Server") return trace::Span::SPAN_KIND_SERVER;
  if (text == "Client") return trace::Span::SPAN_KIND_CLIENT;
  if (text == "Producer") return trace::Span::SPAN_KIND_PRODUCER;
  if (text == "Consumer") return trace::Span::SPAN_KIND_CONSUMER;
  return trace::Span::SPAN_KIND_UNSPECIFIED;
}

trace::Status::StatusCode StatusOf(std::string_view text) {
  if (text == "Ok") return trace::Status::STATUS_CODE_OK;
  if (text == "Error") return trace::Status::STATUS_CODE_ERROR;
  return trace::Status::STATUS_CODE_UNSET;
}

// The columns of one batch, by name.
struct SpanColumns {
  const arrow::Array *timestamp, *trace_id, *span_id, *parent_span_id, *trace_state, *span_name, *span_kind,
      *service_name, *resource_schema_url, *resource_attributes, *scope_schema_url, *scope_name, *scope_version,
      *scope_attributes, *span_attributes, *duration, *status_code, *status_message, *events, *links;

  static arrow::Result<SpanColumns> Of(const arrow::RecordBatch& batch) {
    SpanColumns c;
    const std::pair<const char*, const arrow::Array**> wanted[] = {
        {"Timestamp", &c.timestamp},
        {"TraceId", &c.trace_id},
        {"SpanId", &c.span_id},
        {"ParentSpanId", &c.parent_span_id},
        {"TraceState", &c.trace_state},
        {"SpanName", &c.span_name},
        {"SpanKind", &c.span_kind},
        {"ServiceName", &c.service_name},
        {"ResourceSchemaUrl", &c.resource_schema_url},
        {"ResourceAttributes", &c.resource_attributes},
        {"ScopeSchemaUrl", &c.scope_schema_url},
        {"ScopeName", &c.scope_name},
        {"ScopeVersion", &c.scope_version},
        {"ScopeAttributes", &c.scope_attributes},
        {"SpanAttributes", &c.span_attributes},
        {"Duration", &c.duration},
        {"StatusCode", &c.status_code},
        {"StatusMessage", &c.status_message},
        {"Events", &c.events},
        {"Links", &c.links},
    };
    for (const auto& [name, slot] : wanted) {
      auto column = batch.GetColumnByName(name);
      if (!column) return arrow::Status::Invalid("span rows lack the column ", name);
      *slot = column.get();
    }
    return c;
  }
};

// What makes two rows' resources (or scopes) the same: their columns' bytes, length-prefixed.
void AppendKey(std::string* key, std::string_view part) {
  const uint64_t n = part.size();
  key->append(reinterpret_cast<const char*>(&n), sizeof n);
  key->append(part);
}

void AppendMapKey(std::string* key, const arrow::Array& map, int64_t i) {
  if (map.type_id() != arrow::Type::MAP) return;
  const auto& m = static_cast<const arrow::MapArray&>(map);
  auto [begin, end] = ListRange(map, i);
  AppendKey(key, std::to_string(end - begin));
  for (int64_t j = begin; j < end; ++j) {
    AppendKey(key, Bytes(*m.keys(), j));
    AppendKey(key, Bytes(*m.items(), j));
  }
}

// base64 (protobuf's JSON of bytes) -> hex (OTLP JSON's ids), for the id fields of `node`.
void IdsToHex(nlohmann::json* node) {
  if (node->is_array()) {
    for (auto& item : *node) IdsToHex(&item);
    return;
  }
  if (!node->is_object()) return;
  for (auto& [key, value] : node->items()) {
    if ((key == "traceId" || key == "spanId" || key == "parentSpanId") && value.is_string()) {
      auto bytes = arrow::util::base64_decode(value.get<std::string>());
      if (bytes.ok()) value = Hex(*bytes);
    } else {
      IdsToHex(&value);
    }
  }
}

}  // namespace

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

arrow::Result<std::string> TraceIdFromHex(std::string_view hex) {
  if (hex.empty() || hex.size() > 32) {
    return arrow::Status::Invalid("trace id \"", hex, "\": 1 to 32 hex digits expected");
  }
  std::string padded = std::string(32 - hex.size(), '0') + std::string(hex);
  std::string id(16, '\0');
  for (size_t i = 0; i < 32; ++i) {
    const char c = padded[i];
    int digit = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
    if (digit < 0) return arrow::Status::Invalid("trace id \"", hex, "\": '", std::string(1, c), "' is no hex digit");
    id[i / 2] = static_cast<char>((id[i / 2] << 4) | digit);
  }
  return id;
}

arrow::Result<trace::TracesData> TraceFromRows(const QueryRows& rows) {
  trace::TracesData data;
  std::map<std::string, trace::ResourceSpans*> resources;
  std::map<std::string, trace::ScopeSpans*> scopes;  // resource key + scope key
  for (const auto& batch : rows.batches) {
    ARROW_ASSIGN_OR_RAISE(auto c, SpanColumns::Of(*batch));
    for (int64_t i = 0; i < batch->num_rows(); ++i) {
      std::string resource_key;
      AppendKey(&resource_key, Bytes(*c.resource_schema_url, i));
      AppendKey(&resource_key, Bytes(*c.service_name, i));
      AppendMapKey(&resource_key, *c.resource_attributes, i);
      auto& resource = resources[resource_key];
      if (resource == nullptr) {
        resource = data.add_resource_spans();
        resource->set_schema_url(std::string(Bytes(*c.resource_schema_url, i)));
        auto* attributes = resource->mutable_resource()->mutable_attributes();
        AppendAttributes(*c.resource_attributes, i, attributes);
        // ServiceName is service.name of the resource: put it back if the map lacks it.
        std::string_view service = Bytes(*c.service_name, i);
        bool named = false;
        for (const auto& kv : *attributes) named = named || kv.key() == "service.name";
        if (!named && !service.empty()) {
          auto* kv = attributes->Add();
          kv->set_key("service.name");
          kv->mutable_value()->set_string_value(std::string(service));
        }
      }
      std::string scope_key = resource_key;
      AppendKey(&scope_key, Bytes(*c.scope_schema_url, i));
      AppendKey(&scope_key, Bytes(*c.scope_name, i));
      AppendKey(&scope_key, Bytes(*c.scope_version, i));
      AppendMapKey(&scope_key, *c.scope_attributes, i);
      auto& scope = scopes[scope_key];
      if (scope == nullptr) {
        scope = resource->add_scope_spans();
        scope->set_schema_url(std::string(Bytes(*c.scope_schema_url, i)));
        scope->mutable_scope()->set_name(std::string(Bytes(*c.scope_name, i)));
        scope->mutable_scope()->set_version(std::string(Bytes(*c.scope_version, i)));
        AppendAttributes(*c.scope_attributes, i, scope->mutable_scope()->mutable_attributes());
      }

      auto* span = scope->add_spans();
      span->set_trace_id(std::string(Bytes(*c.trace_id, i)));
      span->set_span_id(std::string(Bytes(*c.span_id, i)));
      span->set_parent_span_id(std::string(Bytes(*c.parent_span_id, i)));
      span->set_trace_state(std::string(Bytes(*c.trace_state, i)));
      span->set_name(std::string(Bytes(*c.span_name, i)));
      span->set_kind(KindOf(Bytes(*c.span_kind, i)));
      const auto start = static_cast<uint64_t>(Nanos(*c.timestamp, i));
      span->set_start_time_unix_nano(start);
      span->set_end_time_unix_nano(start + static_cast<uint64_t>(Int(*c.duration, i)));
      AppendAttributes(*c.span_attributes, i, span->mutable_attributes());
      span->mutable_status()->set_code(StatusOf(Bytes(*c.status_code, i)));
      span->mutable_status()->set_message(std::string(Bytes(*c.status_message, i)));

      const arrow::Array* events = ListValues(*c.events);
      const arrow::Array* event_time = StructField(events, "Timestamp");
      const arrow::Array* event_name = StructField(events, "Name");
      const arrow::Array* event_attributes = StructField(events, "Attributes");
      if (event_time && event_name && event_attributes) {
        auto [begin, end] = ListRange(*c.events, i);
        for (int64_t e = begin; e < end; ++e) {
          auto* event = span->add_events();
          event->set_time_unix_nano(static_cast<uint64_t>(Nanos(*event_time, e)));
          event->set_name(std::string(Bytes(*event_name, e)));
          AppendAttributes(*event_attributes, e, event->mutable_attributes());
        }
      }
      const arrow::Array* links = ListValues(*c.links);
      const arrow::Array* link_trace = StructField(links, "TraceId");
      const arrow::Array* link_span = StructField(links, "SpanId");
      const arrow::Array* link_state = StructField(links, "TraceState");
      const arrow::Array* link_attributes = StructField(links, "Attributes");
      if (link_trace && link_span && link_state && link_attributes) {
        auto [begin, end] = ListRange(*c.links, i);
        for (int64_t l = begin; l < end; ++l) {
          auto* link = span->add_links();
          link->set_trace_id(std::string(Bytes(*link_trace, l)));
          link->set_span_id(std::string(Bytes(*link_span, l)));
          link->set_trace_state(std::string(Bytes(*link_state, l)));
          AppendAttributes(*link_attributes, l, link->mutable_attributes());
        }
      }
    }
  }
  return data;
}

arrow::Result<nlohmann::json> TracesDataJson(const trace::TracesData& data) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_enums_as_ints = true;
  std::string text;
  auto status = google::protobuf::util::MessageToJsonString(data, &text, options);
  if (!status.ok()) return arrow::Status::Invalid("trace to JSON: ", status.ToString());
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return arrow::Status::Invalid("trace to JSON: protobuf wrote no JSON");
  IdsToHex(&json);
  return json;
}

}  // namespace openwit::search
