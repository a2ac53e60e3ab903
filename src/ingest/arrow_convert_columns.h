#pragma once
// What the signal files of the OTLP -> Arrow converter share (arrow_convert_logs.cc, _traces.cc,
// _metrics.cc; implemented in arrow_convert.cc): the column types of the lake schema, the text of
// attribute values, the writers of string, number, id, map and list columns, and SignalColumns,
// the builders of one signal made from its schema. Internal: arrow_convert.h is the interface.
//
// Columns are filled a column at a time over the records of one scope (AppendEach(column, records,
// get)), not a row at a time: the same values in the same order per column, so the same batch,
// and each column's room is known before its values are appended.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <arrow/array/builder_binary.h>
#include <arrow/array/builder_nested.h>
#include <arrow/array/builder_primitive.h>
#include <arrow/type.h>
#include <fmt/format.h>

#include "ingest/arrow_convert.h"
#include "opentelemetry/proto/common/v1/common.pb.h"
#include "opentelemetry/proto/resource/v1/resource.pb.h"
#include "otlp/otlp_wire.h"

namespace openwit::ingest::internal {

namespace common = opentelemetry::proto::common::v1;
using Attributes = google::protobuf::RepeatedPtrField<common::KeyValue>;

inline constexpr size_t kTraceIdSize = 16;
inline constexpr size_t kSpanIdSize = 8;

// ---- Types and schemas -------------------------------------------------------------------------

std::shared_ptr<arrow::DataType> TimeType();        // timestamp[ns, UTC]
std::shared_ptr<arrow::DataType> AttributesType();  // map<utf8, utf8>
std::shared_ptr<arrow::DataType> TraceIdType();     // fixed_size_binary(16)
std::shared_ptr<arrow::DataType> SpanIdType();      // fixed_size_binary(8)

// A top-level column: not nullable unless said.
std::shared_ptr<arrow::Field> Column(const char* name, std::shared_ptr<arrow::DataType> type, bool nullable = false);

// Each in its signal's file.
std::shared_ptr<arrow::Schema> MakeLogsSchema();
std::shared_ptr<arrow::Schema> MakeTracesSchema();
std::shared_ptr<arrow::Schema> MakeMetricsSchema();

inline int64_t Nanos(uint64_t unix_nano) { return static_cast<int64_t>(unix_nano); }

// ---- Values and ids ----------------------------------------------------------------------------

// The functions and classes below that take OTLP messages are templates over the message type,
// defined in arrow_convert.cc for the two kinds a converter reads: the generated protobuf classes
// (common::AnyValue, Attributes...) and the wire views of otlp_wire.h (otlp::wire::AnyValue,
// otlp::wire::Attributes...), which have the same accessors.

// The text stored for a value in a map column or Body: a string as itself (a view into the
// message, no copy), anything else as its JSON text rendered into *scratch, unset as "".
template <class Value>
std::string_view ValueText(const Value& v, std::string* scratch);

// service.name of the resource as text ("" when absent), rendered into *storage if not a string.
template <class Attrs>
std::string_view ServiceName(const Attrs& resource_attrs, std::string* storage);

// Checks one id's length; the path is only formatted on error.
template <class Path>
arrow::Status CheckId(std::string_view id, size_t expected, const char* field, Path&& path) {
  if (id.empty() || id.size() == expected) return arrow::Status::OK();
  return arrow::Status::Invalid(fmt::format("{}.{}: {} bytes, expected {}", path(), field, id.size(), expected));
}

// Empty and all-zero ids both mean "no id" in OTLP: stored as null. A word at a time: ids are 8 or
// 16 bytes (checked) and this runs for every id column of every row.
inline bool IsAbsentId(std::string_view id) {
  uint64_t bits = 0;
  size_t i = 0;
  for (; i + sizeof(uint64_t) <= id.size(); i += sizeof(uint64_t)) {
    uint64_t word;
    std::memcpy(&word, id.data() + i, sizeof(word));
    bits |= word;
  }
  for (; i < id.size(); ++i) bits |= static_cast<unsigned char>(id[i]);
  return bits == 0;
}

// ---- Column writers ----------------------------------------------------------------------------
// Each writer reserves the rows it appends first, so that rows go in with UnsafeAppend: no Status
// per value from an out-of-line builder call (which showed in profiles as Append, ~Status and
// Reserve). String bytes are checked inline by AppendText.

// Appends a text to a string column with room for the row and its bytes. An empty text is not
// copied: its data may be null, which memcpy must not be given even for 0 bytes.
inline void UnsafeAppendText(arrow::StringBuilder* column, std::string_view text) {
  if (text.empty()) {
    column->UnsafeAppendEmptyValue();
  } else {
    column->UnsafeAppend(text);
  }
}

// Appends a text to a string column with room for the row: grows the data buffer (doubling) only
// when the bytes do not fit, never past the 2 GiB a utf8 column holds.
inline arrow::Status AppendText(arrow::StringBuilder* column, std::string_view text) {
  const int64_t room =
      std::min(column->value_data_capacity(), arrow::StringBuilder::memory_limit()) - column->value_data_length();
  if (ARROW_PREDICT_FALSE(static_cast<int64_t>(text.size()) > room)) {
    ARROW_RETURN_NOT_OK(column->ReserveData(static_cast<int64_t>(text.size())));
  }
  UnsafeAppendText(column, text);
  return arrow::Status::OK();
}

template <class Value>
arrow::Status AppendNonStringValueText(const Value& v, arrow::StringBuilder* column, std::string* scratch);

// Appends ValueText(v) to a string column with room for the row; a number or bool without going
// through *scratch (only bytes, arrays and kvlists are rendered there).
template <class Value>
arrow::Status AppendValueText(const Value& v, arrow::StringBuilder* column, std::string* scratch) {
  if (v.value_case() == common::AnyValue::kStringValue) return AppendText(column, v.string_value());
  return AppendNonStringValueText(v, column, scratch);
}

// Appends get(item) of every item (a protobuf repeated field) to a column: to a string column a
// std::string_view, to an id column the id (checked beforehand) or null, to a number column the
// number or, for a nullable one, a std::optional whose nullopt is null.
template <class Builder, class Items, class Get>
arrow::Status AppendEach(Builder* column, const Items& items, Get&& get) {
  ARROW_RETURN_NOT_OK(column->Reserve(items.size()));
  for (const auto& item : items) {
    if constexpr (std::is_same_v<Builder, arrow::StringBuilder>) {
      ARROW_RETURN_NOT_OK(AppendText(column, get(item)));
    } else if constexpr (std::is_same_v<Builder, arrow::FixedSizeBinaryBuilder>) {
      const std::string_view id = get(item);
      if (IsAbsentId(id)) {
        column->UnsafeAppendNull();
      } else {
        column->UnsafeAppend(reinterpret_cast<const uint8_t*>(id.data()));
      }
    } else {
      const auto value = get(item);
      if constexpr (requires { value.has_value(); }) {
        if (value.has_value()) {
          column->UnsafeAppend(*value);
        } else {
          column->UnsafeAppendNull();
        }
      } else {
        column->UnsafeAppend(value);
      }
    }
  }
  return arrow::Status::OK();
}

// Appends `rows` times the same text (the columns of a resource or scope).
arrow::Status AppendRepeated(arrow::StringBuilder* column, std::string_view text, int64_t rows);

// Appends a list slot per item of size(item) elements, for a list column whose elements the
// caller appends to its value builder(s). *offsets is a reused buffer.
template <class Items, class Size>
arrow::Status AppendListSlots(arrow::ListBuilder* list, const Items& items, Size&& size,
                              std::vector<int32_t>* offsets) {
  offsets->clear();
  int64_t next = list->value_builder()->length();
  for (const auto& item : items) {
    offsets->push_back(static_cast<int32_t>(next));
    next += size(item);
  }
  return list->AppendValues(offsets->data(), static_cast<int64_t>(offsets->size()));
}

// A list<struct> column (span events and links, exemplars, quantiles): a list per item of the
// elements get(item), whose struct fields append_fields(elements) appends.
template <class Items, class Get, class AppendFields>
arrow::Status AppendStructLists(arrow::ListBuilder* list, const Items& items, Get&& get, AppendFields&& append_fields,
                                std::vector<int32_t>* offsets) {
  ARROW_RETURN_NOT_OK(AppendListSlots(
      list, items, [&](const auto& item) { return get(item).size(); }, offsets));
  auto* structs = static_cast<arrow::StructBuilder*>(list->value_builder());
  for (const auto& item : items) {
    const auto& elements = get(item);
    if (elements.empty()) continue;
    ARROW_RETURN_NOT_OK(structs->AppendValues(elements.size(), nullptr));
    ARROW_RETURN_NOT_OK(append_fields(elements));
  }
  return arrow::Status::OK();
}

// Reused buffers of one converter, so that steady-state rows allocate nothing.
struct Scratch {
  std::string text;
  std::vector<std::string_view> keys;
  std::vector<std::pair<std::string_view, std::string_view>> entries;
  std::vector<int32_t> offsets;
};

// A map<utf8, utf8> column: resource, scope, record, event, link and exemplar attributes alike.
// When a list repeats a key its first value wins, as pdata's Map.Get.
class MapColumn {
 public:
  MapColumn() = default;
  explicit MapColumn(arrow::MapBuilder* builder);

  // One map per item: get(item) is its attribute list.
  template <class Items, class Get>
  arrow::Status AppendEach(const Items& items, Get&& get, Scratch* scratch) {
    scratch->offsets.clear();
    for (const auto& item : items) {
      scratch->offsets.push_back(static_cast<int32_t>(keys_->length()));
      ARROW_RETURN_NOT_OK(AppendEntries(get(item), scratch));
    }
    return AppendOffsets(scratch->offsets);
  }

  // `rows` times the same list.
  template <class Attrs>
  arrow::Status AppendRepeated(const Attrs& attrs, int64_t rows, Scratch* scratch);

  // Forgets which list was checked for repeated keys: a new message may reuse its address.
  void ForgetChecked() { checked_ = nullptr; }

 private:
  template <class Attrs>
  arrow::Status AppendEntries(const Attrs& attrs, Scratch* scratch);
  arrow::Status AppendOffsets(const std::vector<int32_t>& offsets);

  arrow::MapBuilder* map_ = nullptr;
  arrow::StringBuilder* keys_ = nullptr;
  arrow::StringBuilder* values_ = nullptr;
  // Whether the list written last has unique keys. Resource and scope attributes are the same
  // list on every row of a resource: checked once.
  const void* checked_ = nullptr;
  bool unique_ = true;
};

// ---- The builders of one signal ----------------------------------------------------------------

// The columns every row repeats from its resource and scope: ServiceName, ResourceSchemaUrl,
// ResourceAttributes, ScopeSchemaUrl, ScopeName, ScopeVersion, ScopeAttributes and, in metrics,
// ScopeDroppedAttrCount.
class ResourceScopeColumns {
 public:
  // Before the scopes of a resource.
  template <class Resource>
  void BeginResource(const Resource& resource, std::string_view schema_url);
  // `rows` rows of the scope (with the resource of BeginResource).
  template <class Scope>
  arrow::Status Append(const Scope& scope, std::string_view scope_schema_url, int64_t rows, Scratch* scratch);

 private:
  friend class SignalColumns;

  // The resource's attributes: an Attributes or an otlp::wire::Attributes, by the Append that follows.
  const void* resource_attributes_ = nullptr;
  std::string_view resource_schema_url_;
  std::string_view service_name_;
  std::string service_name_storage_;  // service.name rendered if not a string

  arrow::StringBuilder* service_name_col_ = nullptr;
  arrow::StringBuilder* resource_schema_url_col_ = nullptr;
  MapColumn resource_attributes_col_;
  arrow::StringBuilder* scope_schema_url_col_ = nullptr;
  arrow::StringBuilder* scope_name_col_ = nullptr;
  arrow::StringBuilder* scope_version_col_ = nullptr;
  MapColumn scope_attributes_col_;
  arrow::UInt32Builder* scope_dropped_col_ = nullptr;  // metrics only
};

// The builders of one signal's columns, made from its schema and kept across batches.
class SignalColumns {
 public:
  SignalColumns(std::shared_ptr<arrow::Schema> schema, arrow::MemoryPool* pool);
  virtual ~SignalColumns() = default;

  // Room for `rows` more rows in every top-level builder and, at the start of a batch, for as many
  // elements and bytes in every builder as the last batch had.
  arrow::Status Reserve(int64_t rows);
  void Reset();
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Finish(int64_t rows);
  // Appends the resource (of this signal) serialized in `bytes`, read from the wire format by the
  // signal's decoder (otlp_wire.h): its status, or nullopt, nothing appended, when protobuf must
  // parse the message. `index`, rows and failed as AppendResource has them.
  virtual std::optional<arrow::Status> AppendWire(std::string_view bytes, int index, int64_t* rows,
                                                  arrow::Status* failed) = 0;
  // The time of a log record that carries none (ArrowConverter::SetUntimedRecordsAt).
  void set_untimed_at(uint64_t unix_nano) { untimed_at_ = unix_nano; }

 protected:
  uint64_t untimed_at_ = 0;
  // The builder of a top-level column.
  template <class B>
  B* Builder(const std::string& name) const {
    return Cast<B>(builders_.at(static_cast<size_t>(schema_->GetFieldIndex(name))).get());
  }
  MapColumn Map(const std::string& name) const { return MapColumn(Builder<arrow::MapBuilder>(name)); }

  // The builder of a struct's field, or the value builder of a list.
  template <class B>
  static B* Field(arrow::StructBuilder* parent, const std::string& name) {
    const std::shared_ptr<arrow::DataType> type = parent->type();  // made anew by each call
    return Cast<B>(parent->field_builder(static_cast<const arrow::StructType&>(*type).GetFieldIndex(name)));
  }
  template <class B>
  static B* Values(arrow::ListBuilder* list) {
    return Cast<B>(list->value_builder());
  }

  template <class B>
  static B* Cast(arrow::ArrayBuilder* builder) {
    auto* typed = dynamic_cast<B*>(builder);  // once, when the converter is made
    if (typed == nullptr) std::abort();       // a schema and code that disagree: a bug
    return typed;
  }

  std::shared_ptr<arrow::Schema> schema_;
  std::vector<std::shared_ptr<arrow::ArrayBuilder>> builders_;  // schema order
  ResourceScopeColumns resource_scope_;
  Scratch scratch_;

 private:
  // A builder of the tree (nested ones too) and the size it reached in the last batch. Finish()
  // hands the buffers to the arrays, so each batch starts empty; reserving the last batch's sizes
  // spares the buffers their growth by doubling, each step copying what they held.
  struct SizeHint {
    arrow::ArrayBuilder* builder;
    arrow::StringBuilder* text;  // the same builder if a string column, or null
    int64_t length = 0;
    int64_t bytes = 0;
  };
  void AddSizeHints(arrow::ArrayBuilder* builder);

  std::vector<SizeHint> size_hints_;
};

std::unique_ptr<SignalColumns> MakeLogColumns(arrow::MemoryPool* pool);
std::unique_ptr<SignalColumns> MakeSpanColumns(arrow::MemoryPool* pool);
std::unique_ptr<SignalColumns> MakeMetricColumns(arrow::MemoryPool* pool);

// The body of the three ArrowConverter::Append: check every id and count the rows, reserve, then
// append. A builder error after the check leaves the columns uneven: kept in *failed until
// Finish() discards them.
template <class Columns, class Resource>
arrow::Status AppendResource(SignalColumns* base, const Resource& r, int index, int64_t* rows, arrow::Status* failed) {
  auto* columns = static_cast<Columns*>(base);
  ARROW_ASSIGN_OR_RAISE(const int64_t n, Columns::Check(r, index));
  if (n == 0) return arrow::Status::OK();
  arrow::Status st = columns->Reserve(n);
  if (st.ok()) st = columns->Append(r);
  if (!st.ok()) {
    *failed = st;
    return st;
  }
  *rows += n;
  return arrow::Status::OK();
}

// The body of every SignalColumns::AppendWire: the decoder's reading of `bytes`, appended as
// AppendResource appends a parsed resource.
template <class Columns, class Decoder>
std::optional<arrow::Status> AppendWireWith(Columns* columns, Decoder* decoder, std::string_view bytes, int index,
                                            int64_t* rows, arrow::Status* failed) {
  switch (decoder->Decode(bytes, index)) {
    case otlp::wire::Decoded::kOk:
      return AppendResource<Columns>(columns, decoder->resource(), index, rows, failed);
    case otlp::wire::Decoded::kInvalid:
      return decoder->status();
    case otlp::wire::Decoded::kUseProtobuf:
      break;
  }
  return std::nullopt;
}

}  // namespace openwit::ingest::internal
