#include "storage/object_store.h"

#include <filesystem>
#include <fstream>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/filesystem/localfs.h>
#include <arrow/filesystem/s3fs.h>
#include <arrow/io/file.h>
#include <arrow/io/interfaces.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace openwit::storage {
namespace {

namespace stdfs = std::filesystem;

// Copies a file through `env` to a temporary name beside `target`, syncs it and renames it into
// place (the caller syncs the directory).
arrow::Status CopyLocalDurably(Env* env, const std::string& from, const std::string& target) {
  const std::string tmp = target + ".tmp";
  std::ifstream in(from, std::ios::binary);
  if (!in) return arrow::Status::IOError("cannot read ", from);
  ARROW_ASSIGN_OR_RAISE(auto out, env->NewWritableFile(tmp, Env::OpenMode::kTruncate));
  std::vector<char> chunk(8 << 20);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    if (in.gcount() > 0) ARROW_RETURN_NOT_OK(out->Append(std::string_view(chunk.data(), in.gcount())));
  }
  if (in.bad()) return arrow::Status::IOError("cannot read ", from);
  ARROW_RETURN_NOT_OK(out->Sync());
  ARROW_RETURN_NOT_OK(out->Close());
  return env->RenameFile(tmp, target);
}

}  // namespace

arrow::Result<std::unique_ptr<ObjectStore>> ObjectStore::Open(const ObjectStoreConfig& config, Env* env) {
  const std::string& uri = config.uri;
  if (uri.rfind("s3://", 0) == 0) {
    std::string root = uri.substr(5);
    while (!root.empty() && root.back() == '/') root.pop_back();
    if (root.empty() || root.front() == '/') {
      return arrow::Status::Invalid("storage.object_store.uri \"", uri, "\": expected s3://bucket[/prefix]");
    }
    ARROW_RETURN_NOT_OK(arrow::fs::EnsureS3Initialized());
    auto options = config.access_key_id.empty()
                       ? arrow::fs::S3Options::Defaults()
                       : arrow::fs::S3Options::FromAccessKey(config.access_key_id, config.secret_access_key);
    options.region = config.region;
    if (!config.endpoint_override.empty()) {
      // MinIO and friends: http unless the endpoint says https; path-style addressing.
      std::string endpoint = config.endpoint_override;
      options.scheme = "http";
      if (auto pos = endpoint.find("://"); pos != std::string::npos) {
        options.scheme = endpoint.substr(0, pos);
        endpoint = endpoint.substr(pos + 3);
      }
      options.endpoint_override = endpoint;
      options.force_virtual_addressing = false;
    }
    ARROW_ASSIGN_OR_RAISE(auto fs, arrow::fs::S3FileSystem::Make(options));
    // Fail at start, with the cause, when the bucket cannot be reached.
    const std::string bucket = root.substr(0, root.find('/'));
    auto info = fs->GetFileInfo(bucket);
    if (!info.ok()) {
      return arrow::Status::IOError("object store ", uri, ": cannot reach bucket ", bucket, ": ",
                                    info.status().message());
    }
    if (info->type() == arrow::fs::FileType::NotFound) {
      return arrow::Status::IOError("object store ", uri, ": bucket ", bucket, " does not exist");
    }
    return std::unique_ptr<ObjectStore>(new ObjectStore(fs, root, "s3://" + root, false));
  }
  if (uri.find("://") != std::string::npos && uri.rfind("file://", 0) != 0) {
    // gs:// and whatever else Arrow knows, configured from the URI and the environment.
    std::string root;
    auto fs = arrow::fs::FileSystemFromUri(uri, &root);
    if (!fs.ok()) return arrow::Status::Invalid("storage.object_store.uri \"", uri, "\": ", fs.status().message());
    while (!root.empty() && root.back() == '/') root.pop_back();
    std::string uri_root = uri;
    while (!uri_root.empty() && uri_root.back() == '/') uri_root.pop_back();
    return std::unique_ptr<ObjectStore>(new ObjectStore(*fs, root, uri_root, false));
  }
  std::string path = uri.rfind("file://", 0) == 0 ? uri.substr(7) : uri;
  ARROW_RETURN_NOT_OK(env->CreateDirs(path));
  std::string root = stdfs::weakly_canonical(stdfs::absolute(path)).string();
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  auto store = std::unique_ptr<ObjectStore>(
      new ObjectStore(std::make_shared<arrow::fs::LocalFileSystem>(), root, "file://" + root, true));
  store->env_ = env;
  return store;
}

arrow::Status ObjectStore::Upload(const std::string& local_path, const std::string& key, bool move) {
  const std::string target = PathOf(key);
  std::error_code ec;
  const auto size = static_cast<int64_t>(stdfs::file_size(local_path, ec));
  if (ec) return arrow::Status::IOError("upload: ", local_path, ": ", ec.message());
  if (local_) {
    // New partition directories and the new name are synced: a file the metastore lists survives
    // a power loss.
    const std::string dir = ParentDir(target);
    ARROW_RETURN_NOT_OK(env_->CreateDirs(dir));
    // Same filesystem: an atomic rename, no copy (the file was synced by its writer).
    const bool renamed = move && env_->RenameFile(local_path, target).ok();
    if (!renamed) ARROW_RETURN_NOT_OK(CopyLocalDurably(env_, local_path, target));
    ARROW_RETURN_NOT_OK(env_->SyncDir(dir));
  } else {
    ARROW_ASSIGN_OR_RAISE(auto in, arrow::io::ReadableFile::Open(local_path));
    ARROW_ASSIGN_OR_RAISE(auto out, fs_->OpenOutputStream(target));
    constexpr int64_t kChunk = 8 << 20;
    for (;;) {
      ARROW_ASSIGN_OR_RAISE(auto chunk, in->Read(kChunk));
      if (chunk->size() == 0) break;
      ARROW_RETURN_NOT_OK(out->Write(chunk));
    }
    ARROW_RETURN_NOT_OK(out->Close());  // completes the (multipart) upload
  }
  ARROW_ASSIGN_OR_RAISE(auto info, fs_->GetFileInfo(target));
  if (info.type() != arrow::fs::FileType::File || info.size() != size) {
    return arrow::Status::IOError("upload of ", local_path, " to ", Uri(key), " not verified: ", info.size(),
                                  " bytes there, ", size, " sent");
  }
  return arrow::Status::OK();
}

arrow::Result<std::vector<std::string>> ObjectStore::ListParquet() {
  arrow::fs::FileSelector selector;
  selector.base_dir = root_;
  selector.recursive = true;
  selector.allow_not_found = true;
  ARROW_ASSIGN_OR_RAISE(auto infos, fs_->GetFileInfo(selector));
  std::vector<std::string> keys;
  const std::string prefix = root_ + "/";
  for (const auto& info : infos) {
    if (info.type() != arrow::fs::FileType::File || info.extension() != "parquet") continue;
    if (info.path().rfind(prefix, 0) != 0) continue;
    keys.push_back(info.path().substr(prefix.size()));
  }
  return keys;
}

arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> ObjectStore::OpenForRead(const std::string& key) {
  return fs_->OpenInputFile(PathOf(key));
}

arrow::Status ObjectStore::Delete(const std::string& key) {
  auto status = fs_->DeleteFile(PathOf(key));
  if (!status.ok()) {
    auto info = fs_->GetFileInfo(PathOf(key));
    if (info.ok() && info->type() == arrow::fs::FileType::NotFound) return arrow::Status::OK();  // gone already
  }
  return status;
}

std::string ObjectStore::KeyOf(const std::string& uri) const {
  const std::string prefix = uri_root_ + "/";
  return uri.rfind(prefix, 0) == 0 ? uri.substr(prefix.size()) : std::string();
}

void FinalizeObjectStores() {
  if (arrow::fs::IsS3Initialized() && !arrow::fs::IsS3Finalized()) {
    if (auto s = arrow::fs::FinalizeS3(); !s.ok()) spdlog::warn("object store: S3 shutdown: {}", s.message());
  }
}

}  // namespace openwit::storage
