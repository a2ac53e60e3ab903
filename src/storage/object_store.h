#pragma once
// The lake's object store (DESIGN.md: `ObjectStore` is arrow::fs::FileSystem): a local directory
// (default), S3 or an S3-compatible server such as MinIO (endpoint override, path-style), or GCS,
// chosen by storage.object_store.uri. Objects are named by their lake key,
// tenant=T/signal=S/date=YYYY-MM-DD/hour=HH/<name>.parquet, under the URI's root.

#include <memory>
#include <string>
#include <vector>

#include <arrow/filesystem/filesystem.h>
#include <arrow/result.h>

#include "common/config.h"
#include "common/env.h"

namespace openwit::storage {

class ObjectStore {
 public:
  // `env`: the filesystem seam of a local store (common/env.h); others go through arrow::fs.
  static arrow::Result<std::unique_ptr<ObjectStore>> Open(const ObjectStoreConfig& config, Env* env = Env::Default());

  // Puts the local file `local_path` at `key`; a reader sees the whole object or none (S3 PUTs
  // are atomic; locally a temporary name is renamed). `move` lets a local store take the file by
  // rename instead of a copy (the local file is then gone); other stores leave it to the caller.
  // Verified by size before returning.
  arrow::Status Upload(const std::string& local_path, const std::string& key, bool move);
  // Lake keys of every .parquet object under the root.
  arrow::Result<std::vector<std::string>> ListParquet();
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenForRead(const std::string& key);
  arrow::Status Delete(const std::string& key);

  std::string Uri(const std::string& key) const { return uri_root_ + "/" + key; }
  // The key of a URI this store made; empty when the URI is elsewhere.
  std::string KeyOf(const std::string& uri) const;
  const std::string& uri_root() const { return uri_root_; }
  const std::shared_ptr<arrow::fs::FileSystem>& filesystem() const { return fs_; }

 private:
  ObjectStore(std::shared_ptr<arrow::fs::FileSystem> fs, std::string root, std::string uri_root, bool local)
      : fs_(std::move(fs)), root_(std::move(root)), uri_root_(std::move(uri_root)), local_(local) {}
  std::string PathOf(const std::string& key) const { return root_ + "/" + key; }

  std::shared_ptr<arrow::fs::FileSystem> fs_;
  std::string root_;      // path inside fs_: /abs/dir or bucket/prefix
  std::string uri_root_;  // file:///abs/dir, s3://bucket/prefix, gs://bucket/prefix
  bool local_;
  Env* env_ = Env::Default();
};

// Shuts Arrow's S3 client down if it was started; call once before the process exits.
void FinalizeObjectStores();

}  // namespace openwit::storage
