#include "storage/parquet_writer.h"

#include <arrow/table.h>
#include <parquet/arrow/writer.h>

namespace openwit::storage {

arrow::Status WriteStableParquet(const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches,
                                 const std::shared_ptr<arrow::Schema>& schema, const std::string& path,
                                 const ParquetOptions& options) {
  ARROW_RETURN_NOT_OK(WriteParquetBeside(batches, schema, path, options));
  return CommitParquet(path, options);
}

arrow::Status WriteParquetBeside(const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches,
                                 const std::shared_ptr<arrow::Schema>& schema, const std::string& path,
                                 const ParquetOptions& options) {
  Env* env = options.env;
  ARROW_RETURN_NOT_OK(env->CreateDirs(ParentDir(path)));
  const std::string tmp = path + ".tmp";
  ARROW_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches(schema, batches));
  ARROW_ASSIGN_OR_RAISE(auto file, env->NewWritableFile(tmp, Env::OpenMode::kTruncate));
  auto out = std::make_shared<EnvOutputStream>(std::move(file));
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
  ARROW_RETURN_NOT_OK(out->Sync());
  return out->Close();
}

arrow::Status CommitParquet(const std::string& path, const ParquetOptions& options) {
  ARROW_RETURN_NOT_OK(options.env->RenameFile(path + ".tmp", path));
  // The new name lasts only once its directory is synced (an error here is one: it was ignored before).
  return options.env->SyncDir(ParentDir(path));
}

}  // namespace openwit::storage
