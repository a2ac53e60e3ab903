#pragma once
// The filesystem seam of everything that promises "on disk" (issue #14; LevelDB's Env is the
// model): files written and synced, renames, directory syncs and new directories go through an
// Env, so that tests can run the same code on one that remembers what was made durable and, on a
// simulated power loss, drops everything else (tests/unit/fault_env.h), or fails a chosen call.
//
// The rules a durable writer follows with it:
//  - data is durable once its file's Sync() returned OK;
//  - a new name (a created file, a rename's target, a new directory) is durable once its
//    directory's SyncDir() returned OK; CreateDirs() syncs the parent of every directory it makes;
//  - after a failed Sync() the file's contents are unknown: never append to it again.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <arrow/io/interfaces.h>
#include <arrow/result.h>
#include <arrow/status.h>

namespace openwit {

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual arrow::Status Append(std::string_view data) = 0;
  // What was appended so far is on disk (fdatasync).
  virtual arrow::Status Sync() = 0;
  virtual arrow::Status Close() = 0;
  virtual const std::string& path() const = 0;
};

class Env {
 public:
  virtual ~Env() = default;
  // The real filesystem (POSIX calls). Never null, never destroyed.
  static Env* Default();

  enum class OpenMode { kTruncate, kAppend };
  virtual arrow::Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path, OpenMode mode) = 0;
  virtual arrow::Status RenameFile(const std::string& from, const std::string& to) = 0;
  virtual arrow::Status SyncDir(const std::string& dir) = 0;
  // mkdir -p; the parent of every directory made is synced, so the new path is durable.
  virtual arrow::Status CreateDirs(const std::string& dir) = 0;
  virtual arrow::Status RemoveFile(const std::string& path) = 0;
};

// The directory part of `path` ("." when it has none).
std::string ParentDir(const std::string& path);

// Writes `data` to `path` through a temporary beside it: written, synced, renamed over `path`, and
// the directory synced. A crash leaves the old contents or the new, never a mix.
arrow::Status ReplaceFileDurably(Env* env, const std::string& path, std::string_view data);

// An Arrow output stream over a WritableFile (for the Parquet writer). Sync() before Close() to
// make its contents durable.
class EnvOutputStream final : public arrow::io::OutputStream {
 public:
  explicit EnvOutputStream(std::unique_ptr<WritableFile> file) : file_(std::move(file)) {}
  arrow::Status Write(const void* data, int64_t nbytes) override;
  arrow::Status Flush() override { return arrow::Status::OK(); }
  arrow::Status Close() override;
  arrow::Result<int64_t> Tell() const override { return position_; }
  bool closed() const override { return closed_; }
  arrow::Status Sync() { return file_->Sync(); }

 private:
  std::unique_ptr<WritableFile> file_;
  int64_t position_ = 0;
  bool closed_ = false;
};

}  // namespace openwit
