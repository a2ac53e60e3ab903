#include "storage/janitor.h"

#include <set>

#include <spdlog/spdlog.h>

#include "storage/lake_file.h"

namespace openwit::storage {

Janitor::Janitor(JanitorOptions options, ObjectStore* lake, Metastore* metastore)
    : options_(std::move(options)),
      metrics_(OwnRegistryIfNone(options_.metrics)),
      registered_(metrics_->Counter("janitor.files.registered",
                                    "Lake files the metastore lacked, registered from their footers")),
      expired_(metrics_->Counter("janitor.files.expired", "Lake files deleted past their tenant's retention")),
      unreadable_(
          metrics_->Counter("janitor.files.unreadable", "Objects under the lake root that are not lake Parquet files")),
      lake_(lake),
      metastore_(metastore) {}

Janitor::~Janitor() { Stop(); }

arrow::Result<JanitorReport> Janitor::RunOnce(int64_t now_ns) {
  JanitorReport report;

  // 1. Files in the lake, unknown to the metastore.
  ARROW_ASSIGN_OR_RAISE(auto keys, lake_->ListParquet());
  ARROW_ASSIGN_OR_RAISE(auto known_files, metastore_->ListFiles());
  std::set<std::string> known;
  for (const auto& f : known_files) known.insert(f.uri);
  std::vector<LakeFile> found;
  for (const auto& key : keys) {
    const std::string uri = lake_->Uri(key);
    if (known.count(uri)) continue;
    auto row = [&]() -> arrow::Result<LakeFile> {
      ARROW_ASSIGN_OR_RAISE(auto parts, ParseLakeKey(key));
      ARROW_ASSIGN_OR_RAISE(auto file, lake_->OpenForRead(key));
      return DescribeParquet(file, uri, parts.tenant, parts.signal);
    }();
    if (!row.ok()) {
      ++report.unreadable;
      spdlog::warn("janitor: {}: left alone: {}", uri, row.status().message());
      continue;
    }
    found.push_back(std::move(*row));
  }
  if (!found.empty()) {
    ARROW_RETURN_NOT_OK(metastore_->AddFiles(found));
    for (const auto& f : found)
      spdlog::info("janitor: registered {} ({} rows) the metastore lacked", f.uri, f.row_count);
    report.registered = static_cast<int64_t>(found.size());
  }

  // 2. Retention: forget, then delete.
  // What the metastore listed plus what this pass added: no second listing.
  std::vector<LakeFile> files = std::move(known_files);
  files.insert(files.end(), found.begin(), found.end());
  std::vector<LakeFile> doomed;
  for (auto& f : files) {
    auto it = options_.tenant_retention_days.find(f.tenant);
    const int64_t days = it != options_.tenant_retention_days.end() ? it->second : options_.retention_days;
    if (days <= 0) continue;
    if (f.max_time_ns < now_ns - days * 86400 * 1000000000ll) doomed.push_back(std::move(f));
  }
  if (!doomed.empty()) {
    std::vector<std::string> uris;
    for (const auto& f : doomed) uris.push_back(f.uri);
    ARROW_RETURN_NOT_OK(metastore_->RemoveFiles(uris));
    for (const auto& f : doomed) {
      const std::string key = lake_->KeyOf(f.uri);
      if (key.empty()) {
        spdlog::warn("janitor: {} is past retention but outside {}: forgotten, not deleted", f.uri, lake_->uri_root());
        continue;
      }
      // A failed delete leaves an unknown file: the next pass registers it and tries again.
      if (auto s = lake_->Delete(key); !s.ok()) {
        spdlog::warn("janitor: cannot delete {}: {}", f.uri, s.message());
        continue;
      }
      ++report.expired;
      spdlog::info("janitor: deleted {} (tenant {}, past retention)", f.uri, f.tenant);
    }
  }
  registered_.Increment(static_cast<double>(report.registered));
  expired_.Increment(static_cast<double>(report.expired));
  unreadable_.Increment(static_cast<double>(report.unreadable));
  return report;
}

void Janitor::Start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      auto report = RunOnce(NowNanos());
      if (!report.ok())
        spdlog::warn("janitor: pass failed (next in {} s): {}", options_.interval.count(), report.status().message());
      lock.lock();
      cv_.wait_for(lock, options_.interval, [this] { return stopping_; });
    }
  });
}

void Janitor::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace openwit::storage
