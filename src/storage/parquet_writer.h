#pragma once
// Stable Parquet files: zstd, statistics on, large row groups for scans, written beside the final
// name, fsync'd and renamed over it, so a reader never sees half a file and a crash never leaves one;
// the new partition directories and the rename are synced too, so a file written stays written.

#include <memory>
#include <string>
#include <vector>

#include <arrow/record_batch.h>
#include <arrow/status.h>

#include "common/env.h"

namespace openwit::storage {

struct ParquetOptions {
  int compression_level = 3;
  int64_t max_row_group_rows = 1 << 20;
  // Larger than parquet-cpp's 1 MiB, so attribute and body columns stay dictionary-encoded
  // longer (bench/RESULTS.md: 5.25 -> 5.73 : 1 on the reference corpus, same speed).
  int64_t dictionary_page_bytes = 8 << 20;
  Env* env = Env::Default();  // where the file, its new directories and the rename go
};

arrow::Status WriteStableParquet(const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches,
                                 const std::shared_ptr<arrow::Schema>& schema, const std::string& path,
                                 const ParquetOptions& options = {});

// WriteStableParquet's two halves, for a caller that must not hold a lock while encoding (storage
// finalizes outside the lock its fresh answers take): the first writes and syncs `path`.tmp, which
// nothing looking for .parquet files sees; the second renames it to `path` and syncs the directory.
arrow::Status WriteParquetBeside(const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches,
                                 const std::shared_ptr<arrow::Schema>& schema, const std::string& path,
                                 const ParquetOptions& options = {});
arrow::Status CommitParquet(const std::string& path, const ParquetOptions& options = {});

}  // namespace openwit::storage
