#pragma once
// The batch ids this storage node has made durable, so that a batch sent again (an ingest node
// replaying its WAL after a crash lost the release of a batch storage had) is confirmed without
// being stored twice. Ids are "<prefix>:<sequence>" with sequences nearly contiguous per prefix
// (one prefix per ingest WAL), kept as ranges: memory grows with the gaps, not with the batches.
// Persisted in one append-only file of ranges, compacted at open and whenever appends have made it
// several times its compacted size (written beside, renamed over, the directory synced: the file
// is durable from Open on, and an append is durable once Persist returns).

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <arrow/status.h>

#include "common/env.h"

namespace openwit::storage {

class BatchRegistry {
 public:
  // `min_compact_bytes`: the file is never compacted below this size (tests make it small).
  explicit BatchRegistry(uint64_t min_compact_bytes = 1 << 20, Env* env = Env::Default())
      : min_compact_bytes_(min_compact_bytes), env_(env) {}

  // Loads (and compacts) `path`; a missing file is an empty registry.
  arrow::Status Open(const std::string& path);
  bool Contains(const std::string& id) const;
  // Adds in memory only (ids of an active file, already durable inside it).
  void Add(const std::string& id);
  // Adds and appends to the file, fsync'd: for ids whose active file is about to be deleted.
  arrow::Status Persist(const std::vector<std::string>& ids);
  size_t ranges() const;
  uint64_t file_bytes() const;  // the file's size as this registry wrote it

 private:
  void AddLocked(const std::string& id);
  arrow::Status CompactLocked();
  void AddRangeLocked(const std::string& prefix, uint64_t first, uint64_t last);
  std::string path_;
  mutable std::mutex mu_;
  std::map<std::string, std::map<uint64_t, uint64_t>> ranges_;  // prefix -> first -> last (inclusive)
  std::set<std::string> other_;                                 // ids not of the <prefix>:<n> form
  const uint64_t min_compact_bytes_;
  Env* const env_;
  uint64_t file_bytes_ = 0;
  uint64_t compacted_bytes_ = 0;  // the file's size after the last compaction
};

}  // namespace openwit::storage
