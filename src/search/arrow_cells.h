#pragma once
// Reading one cell of a query's Arrow result, whatever type DuckDB's Arrow export chose for it
// (string, large string or view; binary or fixed-size binary; list or large list; any timestamp
// unit). A null reads as empty or 0. For the APIs that turn rows into other models (Tempo,
// Jaeger, Loki), not for bulk work.

#include <cstdint>
#include <string_view>
#include <utility>

#include <arrow/array.h>

namespace openwit::search::cells {

inline std::string_view Bytes(const arrow::Array& a, int64_t i) {
  if (a.IsNull(i)) return {};
  switch (a.type_id()) {
    case arrow::Type::STRING:
    case arrow::Type::BINARY:
      return static_cast<const arrow::BinaryArray&>(a).GetView(i);
    case arrow::Type::LARGE_STRING:
    case arrow::Type::LARGE_BINARY:
      return static_cast<const arrow::LargeBinaryArray&>(a).GetView(i);
    case arrow::Type::STRING_VIEW:
    case arrow::Type::BINARY_VIEW:
      return static_cast<const arrow::BinaryViewArray&>(a).GetView(i);
    case arrow::Type::FIXED_SIZE_BINARY:
      return static_cast<const arrow::FixedSizeBinaryArray&>(a).GetView(i);
    default:
      return {};
  }
}

// An integer cell of any width (DuckDB's BIGINT, HUGEINT-free aggregates), 0 when null or not one.
inline int64_t Int(const arrow::Array& a, int64_t i) {
  if (a.IsNull(i)) return 0;
  switch (a.type_id()) {
    case arrow::Type::INT64:
      return static_cast<const arrow::Int64Array&>(a).Value(i);
    case arrow::Type::INT32:
      return static_cast<const arrow::Int32Array&>(a).Value(i);
    case arrow::Type::UINT64:
      return static_cast<int64_t>(static_cast<const arrow::UInt64Array&>(a).Value(i));
    case arrow::Type::UINT32:
      return static_cast<const arrow::UInt32Array&>(a).Value(i);
    default:
      return 0;
  }
}

// Nanoseconds since the epoch of a timestamp cell.
inline int64_t Nanos(const arrow::Array& a, int64_t i) {
  if (a.IsNull(i) || a.type_id() != arrow::Type::TIMESTAMP) return 0;
  static constexpr int64_t kPerUnit[] = {1000000000, 1000000, 1000, 1};  // SECOND, MILLI, MICRO, NANO
  const auto unit = static_cast<const arrow::TimestampType&>(*a.type()).unit();
  return static_cast<const arrow::TimestampArray&>(a).Value(i) * kPerUnit[static_cast<int>(unit)];
}

// [begin, end) of row i's elements in a list or map column's values.
inline std::pair<int64_t, int64_t> ListRange(const arrow::Array& a, int64_t i) {
  if (a.IsNull(i)) return {0, 0};
  if (a.type_id() == arrow::Type::LARGE_LIST) {
    const auto& l = static_cast<const arrow::LargeListArray&>(a);
    return {l.value_offset(i), l.value_offset(i) + l.value_length(i)};
  }
  if (a.type_id() == arrow::Type::LIST || a.type_id() == arrow::Type::MAP) {
    const auto& l = static_cast<const arrow::ListArray&>(a);  // a MapArray is a ListArray
    return {l.value_offset(i), l.value_offset(i) + l.value_length(i)};
  }
  return {0, 0};
}

inline const arrow::Array* ListValues(const arrow::Array& a) {
  if (a.type_id() == arrow::Type::LARGE_LIST) return static_cast<const arrow::LargeListArray&>(a).values().get();
  if (a.type_id() == arrow::Type::LIST || a.type_id() == arrow::Type::MAP) {
    return static_cast<const arrow::ListArray&>(a).values().get();
  }
  return nullptr;
}

}  // namespace openwit::search::cells
