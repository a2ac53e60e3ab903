#pragma once
// What the tests of ingest/arrow_convert.h share (arrow_convert_test.cc and
// arrow_convert_{logs,traces,metrics}_test.cc): building OTLP messages, the sample resource of each
// signal, reading cells of a batch, and ExpectColumns, a table of expected values row by row.

#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <arrow/api.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ingest/arrow_convert.h"
#include "opentelemetry/proto/logs/v1/logs.pb.h"
#include "opentelemetry/proto/metrics/v1/metrics.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace openwit::ingest::arrow_test {

namespace common = opentelemetry::proto::common::v1;
namespace logs = opentelemetry::proto::logs::v1;
namespace trace = opentelemetry::proto::trace::v1;
namespace metrics = opentelemetry::proto::metrics::v1;
using Attributes = google::protobuf::RepeatedPtrField<common::KeyValue>;
using Entries = std::vector<std::pair<std::string, std::string>>;
using Entry = Entries::value_type;

inline constexpr int64_t kT0 = 1700000000123456789;  // 2023-11-14T22:13:20.123456789Z

// ---- Building OTLP messages --------------------------------------------------------------------

// n bytes first, first+1, ...: a recognisable id.
inline std::string Id(int n, int first) {
  std::string id;
  for (int i = 0; i < n; ++i) id.push_back(static_cast<char>(first + i));
  return id;
}

inline common::AnyValue* Attr(Attributes* attrs, const std::string& key) {
  common::KeyValue* kv = attrs->Add();
  kv->set_key(key);
  return kv->mutable_value();
}

inline void StrAttr(Attributes* attrs, const std::string& key, const std::string& value) {
  Attr(attrs, key)->set_string_value(value);
}

// The sample resource of each signal (in its test file): every field set somewhere.
logs::ResourceLogs SampleLogs();           // two scopes, three records
trace::ResourceSpans SampleSpans();        // two spans, the first with events and links
metrics::ResourceMetrics SampleMetrics();  // six points: every kind, a gauge of two

// ---- Reading the batch -------------------------------------------------------------------------

template <class T = arrow::Array>
std::shared_ptr<T> Col(const arrow::RecordBatch& batch, const std::string& name) {
  auto column = batch.GetColumnByName(name);
  if (column == nullptr) {
    ADD_FAILURE() << "no column " << name;
    std::abort();
  }
  return std::static_pointer_cast<T>(column);
}

inline std::string Str(const arrow::RecordBatch& batch, const std::string& name, int64_t row) {
  return Col<arrow::StringArray>(batch, name)->GetString(row);
}

inline int64_t Nanos(const arrow::RecordBatch& batch, const std::string& name, int64_t row) {
  return Col<arrow::TimestampArray>(batch, name)->Value(row);
}

inline bool IsNull(const arrow::RecordBatch& batch, const std::string& name, int64_t row) {
  return Col(batch, name)->IsNull(row);
}

// Bytes of a fixed_size_binary cell, or "null".
inline std::string IdAt(const arrow::Array& array, int64_t row) {
  if (array.IsNull(row)) return "null";
  return static_cast<const arrow::FixedSizeBinaryArray&>(array).GetString(row);
}

inline std::string IdAt(const arrow::RecordBatch& batch, const std::string& name, int64_t row) {
  return IdAt(*Col(batch, name), row);
}

inline Entries MapAt(const arrow::Array& array, int64_t row) {
  const auto& map = static_cast<const arrow::MapArray&>(array);
  const auto& keys = static_cast<const arrow::StringArray&>(*map.keys());
  const auto& items = static_cast<const arrow::StringArray&>(*map.items());
  Entries entries;
  for (int64_t i = map.value_offset(row); i < map.value_offset(row + 1); ++i) {
    entries.emplace_back(keys.GetString(i), items.GetString(i));
  }
  return entries;
}

inline Entries MapAt(const arrow::RecordBatch& batch, const std::string& name, int64_t row) {
  return MapAt(*Col(batch, name), row);
}

template <class T, class ArrayT = typename arrow::TypeTraits<T>::ArrayType>
std::vector<typename T::c_type> NumbersAt(const arrow::RecordBatch& batch, const std::string& name, int64_t row) {
  const auto list = Col<arrow::ListArray>(batch, name);
  const auto& values = static_cast<const ArrayT&>(*list->values());
  std::vector<typename T::c_type> out;
  for (int64_t i = list->value_offset(row); i < list->value_offset(row + 1); ++i) {
    out.push_back(values.Value(i));
  }
  return out;
}

// The struct elements of a list<struct> cell: (struct array, first index, count).
struct ListCell {
  std::shared_ptr<arrow::StructArray> items;
  int64_t first = 0;
  int64_t size = 0;

  std::shared_ptr<arrow::Array> Field(const std::string& name) const { return items->GetFieldByName(name); }
  std::string Str(const std::string& name, int64_t i) const {
    return std::static_pointer_cast<arrow::StringArray>(Field(name))->GetString(first + i);
  }
  int64_t Nanos(const std::string& name, int64_t i) const {
    return std::static_pointer_cast<arrow::TimestampArray>(Field(name))->Value(first + i);
  }
  double Double(const std::string& name, int64_t i) const {
    return std::static_pointer_cast<arrow::DoubleArray>(Field(name))->Value(first + i);
  }
  std::string Id(const std::string& name, int64_t i) const { return IdAt(*Field(name), first + i); }
  Entries Map(const std::string& name, int64_t i) const { return MapAt(*Field(name), first + i); }
};

inline ListCell ListAt(const arrow::RecordBatch& batch, const std::string& name, int64_t row) {
  const auto list = Col<arrow::ListArray>(batch, name);
  return {std::static_pointer_cast<arrow::StructArray>(list->values()), list->value_offset(row),
          list->value_length(row)};
}

// A cell as text: a string or id as its bytes, a number or timestamp as its decimal value
// (N(kT0 + 1)), null as "null".
inline std::string CellText(const arrow::Array& array, int64_t row) {
  if (array.IsNull(row)) return "null";
  switch (array.type_id()) {
    case arrow::Type::STRING:
      return static_cast<const arrow::StringArray&>(array).GetString(row);
    case arrow::Type::FIXED_SIZE_BINARY:
      return IdAt(array, row);
    case arrow::Type::TIMESTAMP:
      return std::to_string(static_cast<const arrow::TimestampArray&>(array).Value(row));
    default: {
      auto scalar = array.GetScalar(row);
      return scalar.ok() ? (*scalar)->ToString() : scalar.status().ToString();
    }
  }
}

inline std::string N(int64_t v) { return std::to_string(v); }

// The expected cells of a column, row 0 first.
struct ColumnValues {
  std::string column;
  std::vector<std::string> rows;
};

// Checks each column of the table row by row (as CellText renders it).
inline void ExpectColumns(const arrow::RecordBatch& batch, const std::vector<ColumnValues>& expected) {
  for (const auto& [column, rows] : expected) {
    const auto array = batch.GetColumnByName(column);
    ASSERT_NE(array, nullptr) << "no column " << column;
    ASSERT_LE(static_cast<int64_t>(rows.size()), array->length()) << column;
    for (size_t row = 0; row < rows.size(); ++row) {
      EXPECT_EQ(CellText(*array, static_cast<int64_t>(row)), rows[row]) << column << " row " << row;
    }
  }
}

// The expected entries of a map column, row 0 first.
inline void ExpectMaps(const arrow::RecordBatch& batch, const std::string& column, const std::vector<Entries>& rows) {
  for (size_t row = 0; row < rows.size(); ++row) {
    EXPECT_EQ(MapAt(batch, column, static_cast<int64_t>(row)), rows[row]) << column << " row " << row;
  }
}

inline std::shared_ptr<arrow::RecordBatch> FinishOk(ArrowConverter* converter) {
  auto batch = converter->Finish();
  EXPECT_TRUE(batch.ok()) << batch.status();
  if (!batch.ok()) std::abort();
  EXPECT_TRUE((*batch)->ValidateFull().ok()) << (*batch)->ValidateFull();
  EXPECT_TRUE((*batch)->schema()->Equals(*SchemaFor(converter->signal())));
  EXPECT_EQ(converter->rows(), 0);
  return *batch;
}

// The resource's serialized bytes through AppendSerialized (for logs, the wire-format reader of
// otlp_wire.h) give the very batch `parsed`, which Append gave.
template <class Resource>
void ExpectSerializedGivesTheSame(Signal signal, const Resource& r, const arrow::RecordBatch& parsed) {
  ArrowConverter converter(signal);
  const arrow::Status st = converter.AppendSerialized(r.SerializeAsString());
  ASSERT_TRUE(st.ok()) << st;
  const auto b = FinishOk(&converter);
  EXPECT_TRUE(b->Equals(parsed)) << "from the wire:\n" << b->ToString() << "\nparsed:\n" << parsed.ToString();
}

// One resource through a new converter of its signal: the batch (checked to be the same through
// AppendSerialized).
template <class Resource>
std::shared_ptr<arrow::RecordBatch> Convert(Signal signal, const Resource& r) {
  ArrowConverter converter(signal);
  const arrow::Status st = converter.Append(r);
  EXPECT_TRUE(st.ok()) << st;
  auto b = FinishOk(&converter);
  ExpectSerializedGivesTheSame(signal, r, *b);
  return b;
}

}  // namespace openwit::ingest::arrow_test
