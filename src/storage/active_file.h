#pragma once
// The storage node's active file of one tenant and signal: an Arrow IPC stream on local disk,
// one message per batch with its batch id in the message's custom metadata. IPC, not Parquet,
// while active: a batch appended and fsync'd is durable and readable after a crash up to the last
// complete message, which a Parquet file without its footer is not. Rotation turns the active
// file into a stable Parquet file (parquet_writer.h).

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <arrow/io/file.h>
#include <arrow/ipc/writer.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>

namespace openwit::storage {

class ActiveFile {
 public:
  // Creates `path` (its directory must exist).
  static arrow::Result<std::shared_ptr<ActiveFile>> Create(std::string path, std::shared_ptr<arrow::Schema> schema);
  ~ActiveFile();

  arrow::Status Append(const arrow::RecordBatch& batch, const std::string& batch_id);
  // fdatasync: every batch appended before the call is durable when it returns OK. After Close()
  // it returns OK at once (closing synced).
  arrow::Status Sync();
  arrow::Status Close();

  const std::string& path() const { return path_; }
  const std::shared_ptr<arrow::Schema>& schema() const { return schema_; }
  int64_t bytes() const;
  int64_t rows() const;
  std::chrono::steady_clock::time_point opened() const { return opened_; }

  struct Contents {
    std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
    std::vector<std::string> batch_ids;
    bool torn = false;  // a message cut short at the end (a crash while appending) was left out
    // Batches whose message was whole but whose buffers do not hold together (offsets, lengths:
    // a damaged disk or a stray write), left out: the Parquet writer would read out of bounds.
    int64_t malformed = 0;
    std::string first_malformed;  // what was wrong with the first of them
  };
  // Reads every complete, well-formed batch of an active file, even one cut short by a crash.
  static arrow::Result<Contents> Read(const std::string& path);
  // The same from a file opened earlier: one opened before its active file was finalized and
  // deleted still reads (the storage node's fresh answers, fresh_ticket.h).
  static arrow::Result<Contents> Read(const std::shared_ptr<arrow::io::RandomAccessFile>& in);

 private:
  ActiveFile(std::string path, std::shared_ptr<arrow::Schema> schema);
  const std::string path_;
  const std::shared_ptr<arrow::Schema> schema_;
  const std::chrono::steady_clock::time_point opened_ = std::chrono::steady_clock::now();
  mutable std::mutex mu_;
  std::shared_ptr<arrow::io::FileOutputStream> out_;
  std::shared_ptr<arrow::ipc::RecordBatchWriter> writer_;
  int64_t rows_ = 0;
  bool closed_ = false;
};

}  // namespace openwit::storage
