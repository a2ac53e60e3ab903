#pragma once
// The storage node's active file of one tenant and signal: an Arrow IPC stream on local disk,
// one message per batch with its batch id in the message's custom metadata. IPC, not Parquet,
// while active: a batch appended and fsync'd is durable and readable after a crash up to the last
// complete message, which a Parquet file without its footer is not. Rotation turns the active
// file into a stable Parquet file (parquet_writer.h).

#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <arrow/io/file.h>
#include <arrow/ipc/writer.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>

#include "common/env.h"

namespace openwit::storage {

class ActiveFile {
 public:
  // Creates `path` (its directory must exist) through `env` (common/env.h).
  static arrow::Result<std::shared_ptr<ActiveFile>> Create(std::string path, std::shared_ptr<arrow::Schema> schema,
                                                           Env* env = Env::Default());
  ~ActiveFile();

  // Refused once the file is closed or failed.
  arrow::Status Append(const arrow::RecordBatch& batch, const std::string& batch_id);
  // fdatasync: every batch appended before the call is durable when it returns OK. A failed sync
  // (or write) fails the file for good, since Linux reports a lost write-back once and a later
  // fsync may say OK for it: every later Sync and Close return that error, the file takes no more
  // batches, and the batches appended since the last good sync are withdrawn: never confirmed,
  // they come again from their sender, and finalization leaves them out (withdrawn()).
  arrow::Status Sync();
  // Ends the stream and syncs it, as Sync does; Sync after Close returns what Close found.
  arrow::Status Close();
  bool failed() const;
  // Ids of the batches a failed sync withdrew.
  std::set<std::string> withdrawn() const;

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
  // A failed sync's verdict (under mu_): the file fails, what it did not cover is withdrawn.
  arrow::Status Synced(arrow::Status sync);

  mutable std::mutex mu_;
  std::shared_ptr<EnvOutputStream> out_;
  std::shared_ptr<arrow::ipc::RecordBatchWriter> writer_;
  int64_t rows_ = 0;
  bool closed_ = false;
  arrow::Status failed_;               // sticky
  std::vector<std::string> unsynced_;  // ids appended since the last good sync
  std::set<std::string> withdrawn_;
};

}  // namespace openwit::storage
