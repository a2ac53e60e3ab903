#include "storage/parquet_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <arrow/io/file.h>
#include <arrow/table.h>
#include <parquet/arrow/writer.h>

namespace openwit::storage {

arrow::Status WriteStableParquet(const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches,
                                 const std::shared_ptr<arrow::Schema>& schema, const std::string& path,
                                 const ParquetOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path final_path(path);
  fs::create_directories(final_path.parent_path(), ec);
  if (ec) return arrow::Status::IOError("cannot create ", final_path.parent_path().string(), ": ", ec.message());
  const std::string tmp = path + ".tmp";
  ARROW_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches(schema, batches));
  ARROW_ASSIGN_OR_RAISE(auto out, arrow::io::FileOutputStream::Open(tmp));
  parquet::WriterProperties::Builder builder;
  builder.compression(arrow::Compression::ZSTD)
      ->compression_level(options.compression_level)
      ->enable_statistics()
      ->max_row_group_length(options.max_row_group_rows)
      ->dictionary_pagesize_limit(options.dictionary_page_bytes);
  // Times are nearly sorted and nearly unique: deltas beat a dictionary (and write faster).
  for (const auto& field : schema->fields()) {
    if (field->type()->id() == arrow::Type::TIMESTAMP) {
      builder.disable_dictionary(field->name())->encoding(field->name(), parquet::Encoding::DELTA_BINARY_PACKED);
    }
  }
  auto properties = builder.build();
  auto arrow_properties = parquet::ArrowWriterProperties::Builder().store_schema()->build();
  ARROW_RETURN_NOT_OK(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), out, options.max_row_group_rows,
                                                 properties, arrow_properties));
  ARROW_RETURN_NOT_OK(out->Flush());
  if (::fsync(out->file_descriptor()) != 0) return arrow::Status::IOError("fsync ", tmp, ": ", std::strerror(errno));
  ARROW_RETURN_NOT_OK(out->Close());
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return arrow::Status::IOError("rename ", tmp, " to ", path, ": ", std::strerror(errno));
  }
  int dir = ::open(final_path.parent_path().c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return arrow::Status::OK();
}

}  // namespace openwit::storage
