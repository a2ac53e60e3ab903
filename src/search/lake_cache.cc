#include "search/lake_cache.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string_view>

#include <arrow/buffer.h>
#include <arrow/io/interfaces.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "search/query_error.h"

namespace openwit::search {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPartial = ".fetching";  // a file being fetched: never read, removed at Open
constexpr int64_t kChunkBytes = 4 << 20;

bool EndsWith(const std::string& s, std::string_view tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

LakeCache::LakeCache(LakeCacheOptions options)
    : options_(std::move(options)),
      metrics_(OwnRegistryIfNone(options_.metrics)),
      hits_(metrics_->Counter("search.cache.hits", "Lake files a query found in the search cache")),
      fetched_files_(metrics_->Counter("search.cache.fetched_files",
                                       "Lake files fetched from the object store into the search cache")),
      fetched_bytes_(metrics_->Counter("search.cache.fetched_bytes", "Bytes fetched into the search cache")),
      evicted_files_(metrics_->Counter("search.cache.evicted_files",
                                       "Lake files dropped from the search cache (least recently used first)")),
      held_bytes_(metrics_->Gauge("search.cache.bytes", "Bytes of lake files held in the search cache")) {}

LakeCache::~LakeCache() = default;

arrow::Result<std::unique_ptr<LakeCache>> LakeCache::Open(LakeCacheOptions options) {
  if (options.store == nullptr) return arrow::Status::Invalid("the search cache needs the lake's object store");
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) return arrow::Status::IOError("cannot create the search cache ", options.dir, ": ", ec.message());
  options.dir = fs::absolute(options.dir).lexically_normal().string();
  if (options.dir.size() > 1 && options.dir.back() == '/') options.dir.pop_back();
  std::unique_ptr<LakeCache> cache(new LakeCache(std::move(options)));
  // What an earlier run fetched is still good (lake files never change); half-fetched files are not.
  const fs::path root(cache->options_.dir);
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    const std::string path = it->path().string();
    if (EndsWith(path, kPartial)) {
      fs::remove(it->path(), ec);
      continue;
    }
    if (!EndsWith(path, ".parquet")) continue;
    Entry entry;
    entry.size = static_cast<int64_t>(it->file_size());
    entry.ready = true;
    cache->bytes_ += entry.size;
    cache->entries_.emplace(fs::relative(it->path(), root).string(), entry);
  }
  std::lock_guard lock(cache->mu_);
  cache->EvictLocked();
  spdlog::info("search: cache {} holds {} lake files ({} MiB of at most {} MiB)", cache->options_.dir,
               cache->entries_.size(), cache->bytes_ >> 20, cache->options_.max_bytes >> 20);
  return cache;
}

int64_t LakeCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

void LakeCache::EvictLocked() {
  while (bytes_ > options_.max_bytes) {
    auto victim = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->second.pins == 0 && it->second.ready &&
          (victim == entries_.end() || it->second.last_used < victim->second.last_used)) {
        victim = it;
      }
    }
    if (victim == entries_.end()) break;  // everything left is in use
    std::error_code ec;
    fs::remove(PathOf(victim->first), ec);
    bytes_ -= victim->second.size;
    entries_.erase(victim);
    evicted_files_.Increment();
  }
  held_bytes_.Set(static_cast<double>(bytes_));
}

void LakeCache::Release(const std::vector<std::string>& keys) {
  std::lock_guard lock(mu_);
  for (const auto& key : keys) {
    auto it = entries_.find(key);
    if (it == entries_.end()) continue;
    if (--it->second.pins == 0 && it->second.failed) {
      bytes_ -= it->second.size;
      entries_.erase(it);
    }
  }
  EvictLocked();
}

LakeCache::Pins::~Pins() {
  if (cache_ != nullptr) cache_->Release(keys_);
}

arrow::Status LakeCache::Fetch(const std::string& key, int64_t size) {
  ARROW_ASSIGN_OR_RAISE(auto in, options_.store->OpenForRead(key));
  ARROW_ASSIGN_OR_RAISE(const int64_t total, in->GetSize());
  if (total != size) {
    return arrow::Status::IOError("lake file ", key, " has ", total, " bytes in the object store, the metastore says ",
                                  size);
  }
  const std::string path = PathOf(key);
  const std::string partial = path + kPartial;
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) return arrow::Status::IOError("cannot create ", fs::path(path).parent_path().string(), ": ", ec.message());
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    if (!out) return arrow::Status::IOError("cannot write ", partial);
    for (int64_t done = 0; done < total;) {
      ARROW_ASSIGN_OR_RAISE(auto chunk, in->ReadAt(done, std::min(kChunkBytes, total - done)));
      if (chunk->size() == 0) return arrow::Status::IOError("lake file ", key, " ended at byte ", done);
      out.write(reinterpret_cast<const char*>(chunk->data()), chunk->size());
      done += chunk->size();
    }
    out.close();
    if (!out) {
      fs::remove(partial, ec);
      return arrow::Status::IOError("cannot write ", partial, " (disk full?)");
    }
  }
  fs::rename(partial, path, ec);
  if (ec) return arrow::Status::IOError("cannot rename ", partial, ": ", ec.message());
  return arrow::Status::OK();
}

arrow::Result<std::unique_ptr<LakeCache::Pins>> LakeCache::Acquire(const std::vector<LakeFileRef>& files) {
  auto pins = std::make_unique<Pins>();
  std::vector<const LakeFileRef*> mine;  // missing: this call fetches them
  {
    std::unique_lock lock(mu_);
    int64_t needed = 0;
    std::set<std::string_view> seen;
    for (const auto& file : files) {
      if (!seen.insert(file.key).second) continue;  // asked twice in one call: pinned once
      auto it = entries_.find(file.key);
      // A copy of another size is no copy of this file (a fetch cut short by a crash, say).
      if (it != entries_.end() && it->second.ready && it->second.pins == 0 && it->second.size != file.size_bytes) {
        std::error_code ec;
        fs::remove(PathOf(it->first), ec);
        bytes_ -= it->second.size;
        entries_.erase(it);
        it = entries_.end();
      }
      if (it == entries_.end()) {
        it = entries_.emplace(file.key, Entry{file.size_bytes, 0, 0, false, false}).first;
        bytes_ += file.size_bytes;
        mine.push_back(&file);
      } else if (it->second.ready) {
        hits_.Increment();
      }
      ++it->second.pins;
      pins->keys_.push_back(file.key);
      it->second.last_used = ++clock_;
      needed += file.size_bytes;
    }
    pins->cache_ = this;
    EvictLocked();
    if (bytes_ > options_.max_bytes) {
      // Undo: the entries this call made go, the others are unpinned.
      for (const auto* file : mine) {
        auto it = entries_.find(file->key);
        bytes_ -= it->second.size;
        entries_.erase(it);
      }
      for (const auto& key : pins->keys_) {
        auto it = entries_.find(key);
        if (it != entries_.end()) --it->second.pins;
      }
      pins->keys_.clear();
      held_bytes_.Set(static_cast<double>(bytes_));
      return QueryError(QueryErrorKind::kMemoryLimit,
                        fmt::format("the lake files of this query ({} MiB) do not fit in the search cache beside "
                                    "those other queries read (search.cache_max_mb: {}): narrow it with start and end",
                                    needed >> 20, options_.max_bytes >> 20));
    }
  }
  arrow::Status status;
  for (const auto* file : mine) {
    auto fetched = Fetch(file->key, file->size_bytes);
    std::lock_guard lock(mu_);
    auto& entry = entries_.at(file->key);
    if (fetched.ok()) {
      entry.ready = true;
      ++pins->fetched_files;
      pins->fetched_bytes += file->size_bytes;
      fetched_files_.Increment();
      fetched_bytes_.Increment(static_cast<double>(file->size_bytes));
    } else {
      entry.failed = true;
      if (status.ok()) status = fetched;
    }
    fetched_.notify_all();
  }
  {
    // Files another query is fetching: wait for them.
    std::unique_lock lock(mu_);
    for (const auto& key : pins->keys_) {
      fetched_.wait(lock, [&] { return entries_.at(key).ready || entries_.at(key).failed; });
      if (entries_.at(key).failed && status.ok()) {
        status = QueryError(QueryErrorKind::kInternal, fmt::format("lake file {} could not be fetched", key));
      }
    }
  }
  if (!status.ok()) {
    return QueryError(QueryErrorKind::kInternal,
                      fmt::format("search could not fetch the lake files it needs: {}", status.message()));
  }
  for (const auto& file : files) pins->paths.push_back(PathOf(file.key));
  return pins;
}

}  // namespace openwit::search
