#include "storage/active_file.h"

#include <arrow/io/file.h>
#include <arrow/ipc/reader.h>
#include <arrow/util/byte_size.h>
#include <arrow/util/key_value_metadata.h>
#include <fmt/format.h>

namespace openwit::storage {

constexpr const char* kBatchIdKey = "openwit.batch_id";

ActiveFile::ActiveFile(std::string path, std::shared_ptr<arrow::Schema> schema)
    : path_(std::move(path)), schema_(std::move(schema)) {}

ActiveFile::~ActiveFile() { (void)Close(); }

arrow::Result<std::shared_ptr<ActiveFile>> ActiveFile::Create(std::string path, std::shared_ptr<arrow::Schema> schema,
                                                              Env* env) {
  std::shared_ptr<ActiveFile> file(new ActiveFile(std::move(path), std::move(schema)));
  ARROW_ASSIGN_OR_RAISE(auto out, env->NewWritableFile(file->path_, Env::OpenMode::kTruncate));
  file->out_ = std::make_shared<EnvOutputStream>(std::move(out));
  ARROW_ASSIGN_OR_RAISE(file->writer_, arrow::ipc::MakeStreamWriter(file->out_, file->schema_));
  return file;
}

arrow::Status ActiveFile::Append(const arrow::RecordBatch& batch, const std::string& batch_id) {
  std::lock_guard lock(mu_);
  if (closed_) return arrow::Status::Invalid("active file ", path_, " is closed");
  if (!failed_.ok()) return failed_;
  auto metadata = arrow::key_value_metadata({kBatchIdKey}, {batch_id});
  unsynced_.push_back(batch_id);  // before the write: a half-written message is withdrawn too
  if (auto s = writer_->WriteRecordBatch(batch, metadata); !s.ok()) return Synced(s);
  rows_ += batch.num_rows();
  return arrow::Status::OK();
}

arrow::Status ActiveFile::Synced(arrow::Status sync) {
  if (sync.ok()) {
    unsynced_.clear();
    return sync;
  }
  failed_ = arrow::Status::IOError("active file ", path_, " failed (", sync.message(), "): its ", unsynced_.size(),
                                   " batches since the last sync are not confirmed");
  withdrawn_.insert(unsynced_.begin(), unsynced_.end());
  unsynced_.clear();
  return failed_;
}

arrow::Status ActiveFile::Sync() {
  std::lock_guard lock(mu_);
  if (!failed_.ok()) return failed_;
  if (closed_) return arrow::Status::OK();  // Close synced, and it did not fail
  return Synced(out_->Sync());
}

arrow::Status ActiveFile::Close() {
  std::lock_guard lock(mu_);
  if (closed_ || !writer_) return failed_;
  closed_ = true;
  if (failed_.ok()) {
    auto s = writer_->Close();
    if (s.ok()) s = out_->Sync();
    (void)Synced(s);
  }
  auto closed = out_->Close();
  return failed_.ok() ? closed : failed_;
}

bool ActiveFile::failed() const {
  std::lock_guard lock(mu_);
  return !failed_.ok();
}

std::set<std::string> ActiveFile::withdrawn() const {
  std::lock_guard lock(mu_);
  return withdrawn_;
}

int64_t ActiveFile::bytes() const {
  std::lock_guard lock(mu_);
  auto pos = out_->Tell();
  return pos.ok() ? *pos : 0;
}

int64_t ActiveFile::rows() const {
  std::lock_guard lock(mu_);
  return rows_;
}

arrow::Result<ActiveFile::Contents> ActiveFile::Read(const std::string& path) {
  // Memory-mapped: the batches point into the page cache instead of a heap copy of the whole file,
  // so finalizing a large active file does not double the node's memory.
  ARROW_ASSIGN_OR_RAISE(auto in, arrow::io::MemoryMappedFile::Open(path, arrow::io::FileMode::READ));
  return Read(in);
}

arrow::Result<ActiveFile::Contents> ActiveFile::Read(const std::shared_ptr<arrow::io::RandomAccessFile>& in) {
  Contents contents;
  auto reader = arrow::ipc::RecordBatchStreamReader::Open(in);
  if (!reader.ok()) {
    contents.torn = true;  // not even a whole schema message: nothing was ever acknowledged from it
    return contents;
  }
  while (true) {
    auto next = (*reader)->ReadNext();
    if (!next.ok()) {
      contents.torn = true;
      break;
    }
    if (!next->batch) break;
    // The IPC reader checks the framing, not the buffers: a batch is only as good as ValidateFull
    // says (found by tests/fuzz/active_file_fuzz.cc).
    if (auto valid = next->batch->ValidateFull(); !valid.ok()) {
      if (contents.malformed++ == 0) contents.first_malformed = valid.ToString();
      continue;
    }
    // Nor does ValidateFull bound the row count of a batch whose columns need no memory per row
    // (none at all, null, zero-width or run-end encoded): a damaged length of 2^56 passes, and the
    // Parquet writer then plans 2^36 row groups and runs out of memory (found by
    // tests/fuzz/active_file). Every row we store takes at least one bit of some buffer.
    if (const int64_t bytes = arrow::util::TotalBufferSize(*next->batch); next->batch->num_rows() / 8 > bytes) {
      if (contents.malformed++ == 0) {
        contents.first_malformed =
            fmt::format("{} rows in {} bytes of buffers: more rows than bits", next->batch->num_rows(), bytes);
      }
      continue;
    }
    std::string id;
    if (next->custom_metadata) {
      auto found = next->custom_metadata->Get(kBatchIdKey);
      if (found.ok()) id = *found;
    }
    contents.batches.push_back(std::move(next->batch));
    contents.batch_ids.push_back(std::move(id));
  }
  return contents;
}

}  // namespace openwit::storage
