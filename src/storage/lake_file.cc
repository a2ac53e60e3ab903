#include "storage/lake_file.h"

#include <chrono>
#include <limits>
#include <sstream>

#include <arrow/type.h>
#include <fmt/format.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/schema.h>
#include <parquet/file_reader.h>
#include <parquet/statistics.h>

namespace openwit::storage {
namespace {

// FNV-1a: stable across builds and machines, unlike std::hash.
uint64_t Fnv1a(std::string_view text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

std::string LakeKey(const std::string& tenant, const std::string& signal, const std::string& hour,
                    const std::string& base) {
  return fmt::format("tenant={}/signal={}/date={}/hour={}/{}.parquet", tenant, signal, hour.substr(0, 10),
                     hour.substr(11, 2), base);
}

arrow::Result<LakeKeyParts> ParseLakeKey(const std::string& key) {
  std::vector<std::string> parts;
  std::stringstream in(key);
  for (std::string part; std::getline(in, part, '/');) parts.push_back(part);
  auto value = [&](size_t i, std::string_view name) -> std::string {
    const std::string prefix = std::string(name) + "=";
    return i < parts.size() && parts[i].rfind(prefix, 0) == 0 ? parts[i].substr(prefix.size()) : std::string();
  };
  LakeKeyParts out{value(0, "tenant"), value(1, "signal")};
  if (parts.size() != 5 || out.tenant.empty() || value(2, "date").empty() || value(3, "hour").empty() ||
      (out.signal != "logs" && out.signal != "traces" && out.signal != "metrics")) {
    return arrow::Status::Invalid("not a lake key (tenant=T/signal=logs|traces|metrics/date=D/hour=H/F.parquet): ",
                                  key);
  }
  return out;
}

arrow::Result<LakeFile> DescribeParquet(const std::shared_ptr<arrow::io::RandomAccessFile>& file, std::string uri,
                                        std::string tenant, std::string signal) {
  LakeFile out;
  out.uri = std::move(uri);
  out.tenant = std::move(tenant);
  out.signal = std::move(signal);
  ARROW_ASSIGN_OR_RAISE(out.size_bytes, file->GetSize());
  std::unique_ptr<parquet::ParquetFileReader> reader;
  try {
    reader = parquet::ParquetFileReader::Open(file);
  } catch (const std::exception& e) {  // parquet's reader throws; nothing crosses our boundary
    return arrow::Status::IOError("not a readable Parquet file: ", out.uri, ": ", e.what());
  }
  const auto metadata = reader->metadata();
  out.row_count = metadata->num_rows();
  std::shared_ptr<arrow::Schema> schema;
  ARROW_RETURN_NOT_OK(parquet::arrow::FromParquetSchema(metadata->schema(), parquet::ArrowReaderProperties(),
                                                        metadata->key_value_metadata(), &schema));
  out.schema_fingerprint = fmt::format("{:016x}", Fnv1a(schema->WithMetadata(nullptr)->ToString()));
  // The row's time: Timestamp for logs and spans, TimeUnix for metric points.
  const int column = metadata->schema()->ColumnIndex(out.signal == "metrics" ? "TimeUnix" : "Timestamp");
  int64_t min = std::numeric_limits<int64_t>::max();
  int64_t max = std::numeric_limits<int64_t>::min();
  if (column >= 0) {
    for (int g = 0; g < metadata->num_row_groups(); ++g) {
      auto stats = metadata->RowGroup(g)->ColumnChunk(column)->statistics();
      auto typed = std::dynamic_pointer_cast<parquet::Int64Statistics>(stats);
      if (!typed || !typed->HasMinMax()) continue;
      min = std::min(min, typed->min());
      max = std::max(max, typed->max());
    }
  }
  if (min > max) min = max = 0;  // no time statistics: an empty file
  out.min_time_ns = min;
  out.max_time_ns = max;
  out.created_at_ns = NowNanos();
  return out;
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace openwit::storage
