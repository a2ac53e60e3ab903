#pragma once
// Lake files of an object-store lake (s3://, gs://) as local files for DuckDB (issue #13): DuckDB's
// S3 support is an extension that cannot be installed here, so the search role fetches the files
// a query needs through arrow::fs (the storage role's ObjectStore) into a directory of its own,
// bounded by search.cache_max_mb, and a later query reads them from there without fetching again.
//
// Lake files never change once published (each name is unique), so a copy of the right size is
// the file. A file a running query reads is pinned: eviction (least recently used first) only
// drops unpinned files. When the files of one query cannot fit beside the pinned ones, the query
// fails with QueryErrorKind::kMemoryLimit rather than overrunning the bound. Two queries that need
// the same missing file fetch it once. The directory survives restarts: files found there at
// Open are reused (leftovers of an interrupted fetch are removed).

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <arrow/result.h>

#include "common/metrics.h"
#include "search/lake_tables.h"
#include "storage/object_store.h"

namespace openwit::search {

struct LakeCacheOptions {
  storage::ObjectStore* store = nullptr;  // not owned
  std::string dir;                        // the cache's own directory
  int64_t max_bytes = 2048ll << 20;       // search.cache_max_mb
  std::shared_ptr<MetricsRegistry> metrics = nullptr;
};

class LakeCache {
 public:
  static arrow::Result<std::unique_ptr<LakeCache>> Open(LakeCacheOptions options);
  ~LakeCache();

  // Local copies of some files, held until destroyed.
  class Pins {
   public:
    ~Pins();
    std::vector<std::string> paths;  // in the order asked
    int64_t fetched_files = 0;       // fetched from the object store for this query
    int64_t fetched_bytes = 0;

   private:
    friend class LakeCache;
    LakeCache* cache_ = nullptr;
    std::vector<std::string> keys_;
  };

  // The local paths of `files`, fetched when missing. kMemoryLimit when they cannot fit.
  arrow::Result<std::unique_ptr<Pins>> Acquire(const std::vector<LakeFileRef>& files);

  int64_t bytes() const;  // held in the directory (fetched or being fetched)

  // Where the cached files are, absolute: a file's path is dir()/<its key in the lake>.
  const std::string& dir() const { return options_.dir; }

 private:
  struct Entry {
    int64_t size = 0;
    int pins = 0;
    uint64_t last_used = 0;
    bool ready = false;  // false while its fetch runs
    bool failed = false;
  };

  explicit LakeCache(LakeCacheOptions options);
  std::string PathOf(const std::string& key) const { return options_.dir + "/" + key; }
  arrow::Status Fetch(const std::string& key, int64_t size);
  void Release(const std::vector<std::string>& keys);
  void EvictLocked();

  const LakeCacheOptions options_;
  const std::shared_ptr<MetricsRegistry> metrics_;
  prometheus::Counter& hits_;
  prometheus::Counter& fetched_files_;
  prometheus::Counter& fetched_bytes_;
  prometheus::Counter& evicted_files_;
  prometheus::Gauge& held_bytes_;

  mutable std::mutex mu_;
  std::condition_variable fetched_;  // an entry became ready or failed
  std::map<std::string, Entry> entries_;
  int64_t bytes_ = 0;
  uint64_t clock_ = 0;
};

}  // namespace openwit::search
