#include "ingest/arrow_convert.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ingest/arrow_convert_columns.h"
#include "opentelemetry/proto/logs/v1/logs.pb.h"
#include "opentelemetry/proto/metrics/v1/metrics.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"

// The shared part of the converter (arrow_convert_columns.h) and ArrowConverter itself; each
// signal's schema, columns and Append are in arrow_convert_{logs,traces,metrics}.cc.

namespace openwit::ingest {
namespace internal {

// ---- Types -------------------------------------------------------------------------------------

std::shared_ptr<arrow::DataType> TimeType() {
  static const auto type = arrow::timestamp(arrow::TimeUnit::NANO, "UTC");
  return type;
}

std::shared_ptr<arrow::DataType> AttributesType() {
  static const auto type = arrow::map(arrow::utf8(), arrow::utf8());
  return type;
}

std::shared_ptr<arrow::DataType> TraceIdType() {
  static const auto type = arrow::fixed_size_binary(kTraceIdSize);
  return type;
}

std::shared_ptr<arrow::DataType> SpanIdType() {
  static const auto type = arrow::fixed_size_binary(kSpanIdSize);
  return type;
}

std::shared_ptr<arrow::Field> Column(const char* name, std::shared_ptr<arrow::DataType> type, bool nullable) {
  return arrow::field(name, std::move(type), nullable);
}

namespace {

// ---- Text of attribute values ------------------------------------------------------------------
// Hand-written rather than through a JSON library: the common value is a plain string, passed
// through with no copy, and the rest is a few appends to one reused buffer.

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run = 0;  // start of the bytes not yet copied
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xf]);
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

void AppendBase64(std::string_view in, std::string* out) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto byte = [&in](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(in[i])); };
  out->reserve(out->size() + (in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t n = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out->push_back(kAlphabet[n >> 18]);
    out->push_back(kAlphabet[(n >> 12) & 63]);
    out->push_back(kAlphabet[(n >> 6) & 63]);
    out->push_back(kAlphabet[n & 63]);
  }
  if (const size_t rest = in.size() - i; rest > 0) {
    const uint32_t n = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
    out->push_back(kAlphabet[n >> 18]);
    out->push_back(kAlphabet[(n >> 12) & 63]);
    out->push_back(rest == 2 ? kAlphabet[(n >> 6) & 63] : '=');
    out->push_back('=');
  }
}

// Numbers are formatted into a stack buffer, so that a map value or Body goes straight into its
// column without a std::string in between.
struct NumberText {
  char buf[64];  // an int64 or a double: fixed below 1e21 with at most 17 significant digits
  size_t size = 0;
  std::string_view view() const { return {buf, size}; }
};

NumberText IntText(int64_t v) {
  NumberText t;
  t.size = static_cast<size_t>(std::to_chars(t.buf, t.buf + sizeof(t.buf), v).ptr - t.buf);
  return t;
}

// The shortest text that reads back as the same double, in plain notation between 1e-6 and 1e21
// and in exponent notation outside (the JSON numbers of Go and JavaScript). NaN and infinities
// have no JSON number: inside JSON they are the strings "NaN", "Infinity", "-Infinity".
NumberText DoubleText(double v, bool inside_json) {
  NumberText t;
  if (!std::isfinite(v)) {
    const std::string_view text = std::isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity");
    const std::string_view quote = inside_json ? "\"" : "";
    for (std::string_view part : {quote, text, quote}) {
      std::memcpy(t.buf + t.size, part.data(), part.size());
      t.size += part.size();
    }
    return t;
  }
  const double magnitude = std::fabs(v);
  const auto format = magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e21) ? std::chars_format::fixed
                                                                                : std::chars_format::scientific;
  t.size = static_cast<size_t>(std::to_chars(t.buf, t.buf + sizeof(t.buf), v, format).ptr - t.buf);
  return t;
}

// A value inside a JSON array or object.
template <class Value>
void AppendJson(const Value& v, std::string* out) {
  switch (v.value_case()) {
    case common::AnyValue::kStringValue:
      AppendJsonString(v.string_value(), out);
      break;
    case common::AnyValue::kBoolValue:
      out->append(v.bool_value() ? "true" : "false");
      break;
    case common::AnyValue::kIntValue:
      out->append(IntText(v.int_value()).view());
      break;
    case common::AnyValue::kDoubleValue:
      out->append(DoubleText(v.double_value(), /*inside_json=*/true).view());
      break;
    case common::AnyValue::kBytesValue:
      out->push_back('"');
      AppendBase64(v.bytes_value(), out);
      out->push_back('"');
      break;
    case common::AnyValue::kArrayValue: {
      out->push_back('[');
      bool first = true;
      for (const auto& item : v.array_value().values()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJson(item, out);
      }
      out->push_back(']');
      break;
    }
    case common::AnyValue::kKvlistValue: {
      out->push_back('{');
      bool first = true;
      for (const auto& kv : v.kvlist_value().values()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(kv.key(), out);
        out->push_back(':');
        AppendJson(kv.value(), out);
      }
      out->push_back('}');
      break;
    }
    default:  // unset, or a profiles string-table index that means nothing here
      out->append("null");
  }
}

}  // namespace

template <class Value>
std::string_view ValueText(const Value& v, std::string* scratch) {
  switch (v.value_case()) {
    case common::AnyValue::kStringValue:
      return v.string_value();
    case common::AnyValue::kDoubleValue:  // at top level NaN and infinities are not quoted
      scratch->assign(DoubleText(v.double_value(), /*inside_json=*/false).view());
      return *scratch;
    case common::AnyValue::kBytesValue:
      scratch->clear();
      AppendBase64(v.bytes_value(), scratch);
      return *scratch;
    case common::AnyValue::VALUE_NOT_SET:
    case common::AnyValue::kStringValueStrindex:
      return {};
    default:  // ints and bools as their JSON text, arrays and kvlists as JSON
      scratch->clear();
      AppendJson(v, scratch);
      return *scratch;
  }
}

template <class Value>
arrow::Status AppendNonStringValueText(const Value& v, arrow::StringBuilder* column, std::string* scratch) {
  switch (v.value_case()) {
    case common::AnyValue::kBoolValue:
      return AppendText(column, v.bool_value() ? "true" : "false");
    case common::AnyValue::kIntValue:
      return AppendText(column, IntText(v.int_value()).view());
    case common::AnyValue::kDoubleValue:
      return AppendText(column, DoubleText(v.double_value(), /*inside_json=*/false).view());
    default:
      return AppendText(column, ValueText(v, scratch));
  }
}

template <class Attrs>
std::string_view ServiceName(const Attrs& resource_attrs, std::string* storage) {
  for (const auto& kv : resource_attrs) {
    if (kv.key() == "service.name") return ValueText(kv.value(), storage);
  }
  return {};
}

// ---- Column writers ----------------------------------------------------------------------------

arrow::Status AppendRepeated(arrow::StringBuilder* column, std::string_view text, int64_t rows) {
  ARROW_RETURN_NOT_OK(column->Reserve(rows));
  ARROW_RETURN_NOT_OK(column->ReserveData(static_cast<int64_t>(text.size()) * rows));
  for (int64_t i = 0; i < rows; ++i) UnsafeAppendText(column, text);
  return arrow::Status::OK();
}

namespace {

template <class Attrs>
bool KeysUnique(const Attrs& attrs, std::vector<std::string_view>* keys) {
  const auto n = static_cast<size_t>(attrs.size());
  if (n <= 16) {
    for (size_t i = 1; i < n; ++i) {
      const std::string_view key = attrs[i].key();
      for (size_t j = 0; j < i; ++j) {
        if (attrs[j].key() == key) return false;
      }
    }
    return true;
  }
  keys->clear();
  for (const auto& kv : attrs) keys->push_back(kv.key());
  std::sort(keys->begin(), keys->end());
  return std::adjacent_find(keys->begin(), keys->end()) == keys->end();
}

template <class Attrs>
bool KeySeenBefore(const Attrs& attrs, size_t i) {
  for (size_t j = 0; j < i; ++j) {
    if (attrs[j].key() == attrs[i].key()) return true;
  }
  return false;
}

}  // namespace

MapColumn::MapColumn(arrow::MapBuilder* builder)
    : map_(builder),
      keys_(static_cast<arrow::StringBuilder*>(builder->key_builder())),
      values_(static_cast<arrow::StringBuilder*>(builder->item_builder())) {}

template <class Attrs>
arrow::Status MapColumn::AppendEntries(const Attrs& attrs, Scratch* scratch) {
  ARROW_RETURN_NOT_OK(keys_->Reserve(attrs.size()));
  ARROW_RETURN_NOT_OK(values_->Reserve(attrs.size()));
  if (checked_ != &attrs) {
    checked_ = &attrs;
    unique_ = KeysUnique(attrs, &scratch->keys);
  }
  for (size_t i = 0; i < static_cast<size_t>(attrs.size()); ++i) {
    const auto& kv = attrs[i];
    // First value wins, as pdata's Map.Get; rare enough that the quadratic scan is fine.
    if (!unique_ && KeySeenBefore(attrs, i)) continue;
    ARROW_RETURN_NOT_OK(AppendText(keys_, kv.key()));
    ARROW_RETURN_NOT_OK(AppendValueText(kv.value(), values_, &scratch->text));
  }
  return arrow::Status::OK();
}

arrow::Status MapColumn::AppendOffsets(const std::vector<int32_t>& offsets) {
  return map_->AppendValues(offsets.data(), static_cast<int64_t>(offsets.size()));
}

// The list is rendered once, as the first row; the other rows copy its entries from the
// builders' own buffers, reserved beforehand so that the copies' sources stay in place.
template <class Attrs>
arrow::Status MapColumn::AppendRepeated(const Attrs& attrs, int64_t rows, Scratch* scratch) {
  if (rows == 0) return arrow::Status::OK();
  const int64_t first = keys_->length();
  const int64_t key_bytes = keys_->value_data_length();
  const int64_t value_bytes = values_->value_data_length();
  ARROW_RETURN_NOT_OK(AppendEntries(attrs, scratch));
  const int64_t entries = keys_->length() - first;
  ARROW_RETURN_NOT_OK(keys_->Reserve((rows - 1) * entries));
  ARROW_RETURN_NOT_OK(values_->Reserve((rows - 1) * entries));
  ARROW_RETURN_NOT_OK(keys_->ReserveData((rows - 1) * (keys_->value_data_length() - key_bytes)));
  ARROW_RETURN_NOT_OK(values_->ReserveData((rows - 1) * (values_->value_data_length() - value_bytes)));

  auto& row = scratch->entries;
  row.clear();
  for (int64_t i = first; i < first + entries; ++i) row.emplace_back(keys_->GetView(i), values_->GetView(i));
  scratch->offsets.clear();
  scratch->offsets.push_back(static_cast<int32_t>(first));
  for (int64_t r = 1; r < rows; ++r) {
    scratch->offsets.push_back(static_cast<int32_t>(keys_->length()));
    for (const auto& [key, value] : row) {
      UnsafeAppendText(keys_, key);
      UnsafeAppendText(values_, value);
    }
  }
  return AppendOffsets(scratch->offsets);
}

// ---- The builders of one signal ----------------------------------------------------------------

template <class Resource>
void ResourceScopeColumns::BeginResource(const Resource& resource, std::string_view schema_url) {
  resource_attributes_ = &resource.attributes();
  resource_schema_url_ = schema_url;
  service_name_ = ServiceName(resource.attributes(), &service_name_storage_);
  resource_attributes_col_.ForgetChecked();
  scope_attributes_col_.ForgetChecked();
}

template <class Scope>
arrow::Status ResourceScopeColumns::Append(const Scope& scope, std::string_view scope_schema_url, int64_t rows,
                                           Scratch* scratch) {
  // The resource is of the scope's kind (protobuf or wire): its attributes are of the same type.
  using Attrs = std::remove_cvref_t<decltype(scope.attributes())>;
  ARROW_RETURN_NOT_OK(AppendRepeated(service_name_col_, service_name_, rows));
  ARROW_RETURN_NOT_OK(AppendRepeated(resource_schema_url_col_, resource_schema_url_, rows));
  ARROW_RETURN_NOT_OK(
      resource_attributes_col_.AppendRepeated(*static_cast<const Attrs*>(resource_attributes_), rows, scratch));
  ARROW_RETURN_NOT_OK(AppendRepeated(scope_schema_url_col_, scope_schema_url, rows));
  ARROW_RETURN_NOT_OK(AppendRepeated(scope_name_col_, scope.name(), rows));
  ARROW_RETURN_NOT_OK(AppendRepeated(scope_version_col_, scope.version(), rows));
  ARROW_RETURN_NOT_OK(scope_attributes_col_.AppendRepeated(scope.attributes(), rows, scratch));
  if (scope_dropped_col_ != nullptr) {
    ARROW_RETURN_NOT_OK(scope_dropped_col_->Reserve(rows));
    for (int64_t i = 0; i < rows; ++i) scope_dropped_col_->UnsafeAppend(scope.dropped_attributes_count());
  }
  return arrow::Status::OK();
}

// The two kinds of messages the converter reads (arrow_convert_columns.h).
#define OPENWIT_CONVERT_INSTANTIATE(VALUE, ATTRS, RESOURCE, SCOPE)                                    \
  template std::string_view ValueText(const VALUE&, std::string*);                                    \
  template arrow::Status AppendNonStringValueText(const VALUE&, arrow::StringBuilder*, std::string*); \
  template std::string_view ServiceName(const ATTRS&, std::string*);                                  \
  template arrow::Status MapColumn::AppendEntries(const ATTRS&, Scratch*);                            \
  template arrow::Status MapColumn::AppendRepeated(const ATTRS&, int64_t, Scratch*);                  \
  template void ResourceScopeColumns::BeginResource(const RESOURCE&, std::string_view);               \
  template arrow::Status ResourceScopeColumns::Append(const SCOPE&, std::string_view, int64_t, Scratch*);
OPENWIT_CONVERT_INSTANTIATE(common::AnyValue, Attributes, opentelemetry::proto::resource::v1::Resource,
                            common::InstrumentationScope)
OPENWIT_CONVERT_INSTANTIATE(otlp::wire::AnyValue, otlp::wire::Attributes, otlp::wire::Resource,
                            otlp::wire::InstrumentationScope)
#undef OPENWIT_CONVERT_INSTANTIATE

SignalColumns::SignalColumns(std::shared_ptr<arrow::Schema> schema, arrow::MemoryPool* pool)
    : schema_(std::move(schema)) {
  for (const auto& field : schema_->fields()) {
    // Every type of the three schemas has a builder: cannot fail.
    builders_.push_back(arrow::MakeBuilder(field->type(), pool).ValueOrDie());
    AddSizeHints(builders_.back().get());
  }
  ResourceScopeColumns& c = resource_scope_;
  c.service_name_col_ = Builder<arrow::StringBuilder>("ServiceName");
  c.resource_schema_url_col_ = Builder<arrow::StringBuilder>("ResourceSchemaUrl");
  c.resource_attributes_col_ = Map("ResourceAttributes");
  c.scope_schema_url_col_ = Builder<arrow::StringBuilder>("ScopeSchemaUrl");
  c.scope_name_col_ = Builder<arrow::StringBuilder>("ScopeName");
  c.scope_version_col_ = Builder<arrow::StringBuilder>("ScopeVersion");
  c.scope_attributes_col_ = Map("ScopeAttributes");
  if (schema_->GetFieldIndex("ScopeDroppedAttrCount") >= 0) {
    c.scope_dropped_col_ = Builder<arrow::UInt32Builder>("ScopeDroppedAttrCount");
  }
}

void SignalColumns::AddSizeHints(arrow::ArrayBuilder* builder) {
  size_hints_.push_back({builder, dynamic_cast<arrow::StringBuilder*>(builder)});
  if (auto* map = dynamic_cast<arrow::MapBuilder*>(builder)) {
    AddSizeHints(map->key_builder());
    AddSizeHints(map->item_builder());
  } else if (auto* list = dynamic_cast<arrow::ListBuilder*>(builder)) {
    AddSizeHints(list->value_builder());
  } else if (auto* fields = dynamic_cast<arrow::StructBuilder*>(builder)) {
    for (int i = 0; i < fields->num_fields(); ++i) AddSizeHints(fields->field_builder(i));
  }
}

arrow::Status SignalColumns::Reserve(int64_t rows) {
  if (builders_.front()->length() == 0) {  // the first rows of a batch
    // An eighth more: a batch a little larger than the last would otherwise double a buffer at
    // its very end; what is left unused is given back in place when Finish() shrinks it.
    for (const SizeHint& hint : size_hints_) {
      ARROW_RETURN_NOT_OK(hint.builder->Reserve(hint.length + hint.length / 8));
      if (hint.text != nullptr) ARROW_RETURN_NOT_OK(hint.text->ReserveData(hint.bytes + hint.bytes / 8));
    }
  }
  for (const auto& b : builders_) ARROW_RETURN_NOT_OK(b->Reserve(rows));
  return arrow::Status::OK();
}

void SignalColumns::Reset() {
  for (const auto& b : builders_) b->Reset();
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> SignalColumns::Finish(int64_t rows) {
  for (SizeHint& hint : size_hints_) {
    hint.length = hint.builder->length();
    hint.bytes = hint.text != nullptr ? hint.text->value_data_length() : 0;
  }
  std::vector<std::shared_ptr<arrow::Array>> arrays(builders_.size());
  for (size_t i = 0; i < builders_.size(); ++i) {
    if (auto st = builders_[i]->Finish(&arrays[i]); !st.ok()) {
      Reset();
      return st;
    }
  }
  auto batch = arrow::RecordBatch::Make(schema_, rows, std::move(arrays));
  ARROW_RETURN_NOT_OK(batch->Validate());  // lengths and types against the schema: cheap
  return batch;
}

}  // namespace internal

// ---- Public API --------------------------------------------------------------------------------

const char* SignalText(Signal signal) {
  switch (signal) {
    case Signal::kLogs:
      return "logs";
    case Signal::kTraces:
      return "traces";
    case Signal::kMetrics:
      return "metrics";
  }
  return "unknown";
}

std::shared_ptr<arrow::Schema> SchemaFor(Signal signal) {
  static const auto logs_schema = internal::MakeLogsSchema();
  static const auto traces_schema = internal::MakeTracesSchema();
  static const auto metrics_schema = internal::MakeMetricsSchema();
  switch (signal) {
    case Signal::kTraces:
      return traces_schema;
    case Signal::kMetrics:
      return metrics_schema;
    case Signal::kLogs:
    default:
      return logs_schema;
  }
}

namespace {

std::unique_ptr<internal::SignalColumns> MakeColumns(Signal signal, arrow::MemoryPool* pool) {
  switch (signal) {
    case Signal::kTraces:
      return internal::MakeSpanColumns(pool);
    case Signal::kMetrics:
      return internal::MakeMetricColumns(pool);
    case Signal::kLogs:
    default:
      return internal::MakeLogColumns(pool);
  }
}

}  // namespace

ArrowConverter::ArrowConverter(Signal signal, arrow::MemoryPool* pool)
    : signal_(signal), columns_(MakeColumns(signal, pool)) {}

ArrowConverter::~ArrowConverter() = default;
ArrowConverter::ArrowConverter(ArrowConverter&&) noexcept = default;
ArrowConverter& ArrowConverter::operator=(ArrowConverter&&) noexcept = default;

arrow::Status ArrowConverter::BeginAppend(Signal wanted) {
  if (wanted != signal_) {
    return arrow::Status::Invalid("an ArrowConverter for ", SignalText(signal_), " cannot append ", SignalText(wanted));
  }
  return failed_;
}

// The three Append overloads are in the files of their signals.

namespace {

template <class Message>
arrow::Result<Message> Parse(std::string_view bytes, const char* list, int index) {
  Message m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return arrow::Status::Invalid(list, "[", index, "]: not a valid ", Message::descriptor()->full_name(),
                                  " (protobuf wire format or a string that is not UTF-8)");
  }
  return m;
}

}  // namespace

void ArrowConverter::SetUntimedRecordsAt(uint64_t unix_nano) { columns_->set_untimed_at(unix_nano); }

arrow::Status ArrowConverter::AppendSerialized(std::string_view resource) {
  ARROW_RETURN_NOT_OK(BeginAppend(signal_));
  const int index = resources_;
  if (auto done = columns_->AppendWire(resource, index, &rows_, &failed_)) {
    ++resources_;
    return *done;
  }
  // What the wire reader leaves to protobuf. Append counts the resource itself; a refused parse
  // counts it here.
  auto append = [&](const auto& parsed) -> arrow::Status {
    if (!parsed.ok()) {
      ++resources_;
      return parsed.status();
    }
    return Append(*parsed);
  };
  switch (signal_) {
    case Signal::kLogs:
      return append(Parse<opentelemetry::proto::logs::v1::ResourceLogs>(resource, "resource_logs", index));
    case Signal::kTraces:
      return append(Parse<opentelemetry::proto::trace::v1::ResourceSpans>(resource, "resource_spans", index));
    case Signal::kMetrics:
      return append(Parse<opentelemetry::proto::metrics::v1::ResourceMetrics>(resource, "resource_metrics", index));
  }
  return arrow::Status::Invalid("unknown signal");
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> ArrowConverter::Finish() {
  const int64_t rows = rows_;
  rows_ = 0;
  resources_ = 0;
  if (!failed_.ok()) {
    columns_->Reset();
    return std::exchange(failed_, arrow::Status::OK());
  }
  return columns_->Finish(rows);
}

}  // namespace openwit::ingest
