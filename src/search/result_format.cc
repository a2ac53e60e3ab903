#include "search/result_format.h"

#include <chrono>

#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <arrow/ipc/writer.h>
#include <fmt/format.h>

namespace openwit::search {
namespace {

using nlohmann::json;

std::string Hex(std::string_view bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// Days since 1970-01-01 -> "YYYY-MM-DD".
std::string DateText(int64_t days) {
  std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

std::string TimestampText(int64_t value, const arrow::TimestampType& type) {
  int64_t per_second = 1;
  int digits = 0;
  switch (type.unit()) {
    case arrow::TimeUnit::SECOND:
      break;
    case arrow::TimeUnit::MILLI:
      per_second = 1000, digits = 3;
      break;
    case arrow::TimeUnit::MICRO:
      per_second = 1000000, digits = 6;
      break;
    case arrow::TimeUnit::NANO:
      per_second = 1000000000, digits = 9;
      break;
  }
  int64_t seconds = value / per_second;
  int64_t fraction = value % per_second;
  if (fraction < 0) fraction += per_second, --seconds;
  int64_t days = seconds / 86400;
  int64_t in_day = seconds % 86400;
  if (in_day < 0) in_day += 86400, --days;
  std::string text = fmt::format("{}T{:02}:{:02}:{:02}", DateText(days), in_day / 3600, in_day / 60 % 60, in_day % 60);
  if (digits) text += fmt::format(".{:0{}}", fraction, digits);
  if (!type.timezone().empty()) text += "Z";  // Arrow keeps zoned timestamps in UTC
  return text;
}

json Value(const arrow::Array& array, int64_t i);

template <class ListArray>
json ListValue(const ListArray& list, int64_t i) {
  json out = json::array();
  auto values = list.values();
  for (int64_t j = list.value_offset(i); j < list.value_offset(i) + list.value_length(i); ++j) {
    out.push_back(Value(*values, j));
  }
  return out;
}

json Value(const arrow::Array& array, int64_t i) {
  if (array.IsNull(i)) return nullptr;
  switch (array.type_id()) {
    case arrow::Type::BOOL:
      return static_cast<const arrow::BooleanArray&>(array).Value(i);
    case arrow::Type::INT8:
      return static_cast<const arrow::Int8Array&>(array).Value(i);
    case arrow::Type::INT16:
      return static_cast<const arrow::Int16Array&>(array).Value(i);
    case arrow::Type::INT32:
      return static_cast<const arrow::Int32Array&>(array).Value(i);
    case arrow::Type::INT64:
      return static_cast<const arrow::Int64Array&>(array).Value(i);
    case arrow::Type::UINT8:
      return static_cast<const arrow::UInt8Array&>(array).Value(i);
    case arrow::Type::UINT16:
      return static_cast<const arrow::UInt16Array&>(array).Value(i);
    case arrow::Type::UINT32:
      return static_cast<const arrow::UInt32Array&>(array).Value(i);
    case arrow::Type::UINT64:
      return static_cast<const arrow::UInt64Array&>(array).Value(i);
    case arrow::Type::FLOAT:
      return static_cast<const arrow::FloatArray&>(array).Value(i);
    case arrow::Type::DOUBLE:
      return static_cast<const arrow::DoubleArray&>(array).Value(i);
    case arrow::Type::STRING:
      return static_cast<const arrow::StringArray&>(array).GetString(i);
    case arrow::Type::LARGE_STRING:
      return static_cast<const arrow::LargeStringArray&>(array).GetString(i);
    case arrow::Type::STRING_VIEW:
      return std::string(static_cast<const arrow::StringViewArray&>(array).GetView(i));
    case arrow::Type::BINARY:
      return Hex(static_cast<const arrow::BinaryArray&>(array).GetView(i));
    case arrow::Type::LARGE_BINARY:
      return Hex(static_cast<const arrow::LargeBinaryArray&>(array).GetView(i));
    case arrow::Type::FIXED_SIZE_BINARY:
      return Hex(static_cast<const arrow::FixedSizeBinaryArray&>(array).GetView(i));
    case arrow::Type::TIMESTAMP:
      return TimestampText(static_cast<const arrow::TimestampArray&>(array).Value(i),
                           static_cast<const arrow::TimestampType&>(*array.type()));
    case arrow::Type::DATE32:
      return DateText(static_cast<const arrow::Date32Array&>(array).Value(i));
    case arrow::Type::DATE64:
      return DateText(static_cast<const arrow::Date64Array&>(array).Value(i) / 86400000);
    case arrow::Type::LIST:
      return ListValue(static_cast<const arrow::ListArray&>(array), i);
    case arrow::Type::LARGE_LIST:
      return ListValue(static_cast<const arrow::LargeListArray&>(array), i);
    case arrow::Type::FIXED_SIZE_LIST:
      return ListValue(static_cast<const arrow::FixedSizeListArray&>(array), i);
    case arrow::Type::MAP: {
      const auto& map = static_cast<const arrow::MapArray&>(array);
      json out = json::object();
      for (int64_t j = map.value_offset(i); j < map.value_offset(i) + map.value_length(i); ++j) {
        json key = Value(*map.keys(), j);
        out[key.is_string() ? key.get<std::string>() : key.dump()] = Value(*map.items(), j);
      }
      return out;
    }
    case arrow::Type::STRUCT: {
      const auto& st = static_cast<const arrow::StructArray&>(array);
      json out = json::object();
      for (int f = 0; f < st.num_fields(); ++f) out[st.type()->field(f)->name()] = Value(*st.field(f), i);
      return out;
    }
    default:
      break;
  }
  auto scalar = array.GetScalar(i);
  return scalar.ok() ? json((*scalar)->ToString()) : json(nullptr);
}

}  // namespace

nlohmann::json StatsJson(const QueryStats& stats, const QueryRows& rows) {
  return json{{"files_considered", stats.files_considered},
              {"files_pruned", stats.files_pruned},
              {"files_fresh", stats.files_fresh},
              {"files_read", stats.files_read},
              {"bytes_in_files", stats.bytes_in_files},
              {"files_fetched", stats.files_fetched},
              {"bytes_fetched", stats.bytes_fetched},
              {"fresh_batches", stats.fresh_batches},
              {"fresh_rows", stats.fresh_rows},
              {"fresh_sources_unreachable", stats.fresh_sources_unreachable},
              {"rows_scanned", stats.rows_scanned},
              {"rows_returned", rows.rows},
              {"database_reused", stats.database_reused},
              {"open_ms", stats.open_ms},
              {"elapsed_ms", stats.elapsed_ms}};
}

arrow::Result<std::string> ResultJson(const QueryResult& result) {
  const auto& rows = result.rows;
  json columns = json::array();
  for (const auto& field : rows.schema->fields()) {
    columns.push_back({{"name", field->name()}, {"type", field->type()->ToString()}});
  }
  json out_rows = json::array();
  for (const auto& batch : rows.batches) {
    for (int64_t r = 0; r < batch->num_rows(); ++r) {
      json row = json::array();
      for (int c = 0; c < batch->num_columns(); ++c) row.push_back(Value(*batch->column(c), r));
      out_rows.push_back(std::move(row));
    }
  }
  json body{{"columns", std::move(columns)},
            {"rows", std::move(out_rows)},
            {"truncated", rows.truncated},
            {"stats", StatsJson(result.stats, rows)}};
  // Invalid UTF-8 in a string (a Body is bytes to DuckDB's BLOB casts) is replaced, not fatal.
  return body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

arrow::Result<std::string> ResultArrowStream(const QueryResult& result) {
  ARROW_ASSIGN_OR_RAISE(auto sink, arrow::io::BufferOutputStream::Create());
  ARROW_ASSIGN_OR_RAISE(auto writer, arrow::ipc::MakeStreamWriter(sink, result.rows.schema));
  for (const auto& batch : result.rows.batches) ARROW_RETURN_NOT_OK(writer->WriteRecordBatch(*batch));
  ARROW_RETURN_NOT_OK(writer->Close());
  ARROW_ASSIGN_OR_RAISE(auto buffer, sink->Finish());
  return buffer->ToString();
}

}  // namespace openwit::search
