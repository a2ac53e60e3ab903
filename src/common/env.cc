#include "common/env.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace openwit {
namespace {

arrow::Status PosixError(std::string_view what, const std::string& path, int err) {
  return arrow::Status::IOError(what, " ", path, ": ", std::strerror(err));
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  arrow::Status Append(std::string_view data) override {
    while (!data.empty()) {
      const ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return PosixError("write", path_, errno);
      data.remove_prefix(static_cast<size_t>(n));
    }
    return arrow::Status::OK();
  }

  arrow::Status Sync() override {
    if (::fdatasync(fd_) != 0) return PosixError("fdatasync", path_, errno);
    return arrow::Status::OK();
  }

  arrow::Status Close() override {
    if (fd_ < 0) return arrow::Status::OK();
    const int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) return PosixError("close", path_, errno);
    return arrow::Status::OK();
  }

  const std::string& path() const override { return path_; }

 private:
  const std::string path_;
  int fd_;
};

class PosixEnv final : public Env {
 public:
  arrow::Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path, OpenMode mode) override {
    const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (mode == OpenMode::kAppend ? O_APPEND : O_TRUNC);
    const int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) return PosixError("cannot open", path, errno);
    return std::make_unique<PosixWritableFile>(path, fd);
  }

  arrow::Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return PosixError("rename " + from + " to", to, errno);
    return arrow::Status::OK();
  }

  arrow::Status SyncDir(const std::string& dir) override {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return PosixError("cannot open directory", dir, errno);
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) return PosixError("fsync of directory", dir, err);
    return arrow::Status::OK();
  }

  arrow::Status CreateDirs(const std::string& dir) override {
    // The directories missing, outermost first; each made, then its parent synced.
    std::vector<std::filesystem::path> missing;
    for (std::filesystem::path p(dir); !p.empty() && !std::filesystem::exists(p); p = p.parent_path()) {
      missing.push_back(p);
      if (p == p.parent_path()) break;
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
      if (::mkdir(it->c_str(), 0755) != 0 && errno != EEXIST) return PosixError("cannot create", it->string(), errno);
      ARROW_RETURN_NOT_OK(SyncDir(ParentDir(it->string())));
    }
    return arrow::Status::OK();
  }

  arrow::Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return PosixError("cannot remove", path, errno);
    return arrow::Status::OK();
  }
};

}  // namespace

Env* Env::Default() {
  static PosixEnv* env = new PosixEnv();  // never destroyed: used until the process exits
  return env;
}

std::string ParentDir(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

arrow::Status ReplaceFileDurably(Env* env, const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  ARROW_ASSIGN_OR_RAISE(auto file, env->NewWritableFile(tmp, Env::OpenMode::kTruncate));
  ARROW_RETURN_NOT_OK(file->Append(data));
  ARROW_RETURN_NOT_OK(file->Sync());
  ARROW_RETURN_NOT_OK(file->Close());
  ARROW_RETURN_NOT_OK(env->RenameFile(tmp, path));
  return env->SyncDir(ParentDir(path));
}

arrow::Status EnvOutputStream::Write(const void* data, int64_t nbytes) {
  ARROW_RETURN_NOT_OK(file_->Append(std::string_view(static_cast<const char*>(data), static_cast<size_t>(nbytes))));
  position_ += nbytes;
  return arrow::Status::OK();
}

arrow::Status EnvOutputStream::Close() {
  if (closed_) return arrow::Status::OK();
  closed_ = true;
  return file_->Close();
}

}  // namespace openwit
