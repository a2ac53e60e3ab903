#include "storage/batch_registry.h"

#include <charconv>
#include <fstream>

#include <fmt/format.h>

namespace openwit::storage {
namespace {

bool Split(const std::string& id, std::string* prefix, uint64_t* n) {
  auto colon = id.rfind(':');
  if (colon == std::string::npos || colon + 1 == id.size()) return false;
  auto [end, ec] = std::from_chars(id.data() + colon + 1, id.data() + id.size(), *n);
  if (ec != std::errc() || end != id.data() + id.size()) return false;
  *prefix = id.substr(0, colon);
  return true;
}

using Ranges = std::map<std::string, std::map<uint64_t, uint64_t>>;

// The file's text for these ids: a line per range ("<prefix>:<first>-<last>"), a line per other id.
std::string Render(const Ranges& ranges, const std::set<std::string>& other) {
  std::string text;
  for (const auto& [prefix, r] : ranges) {
    for (const auto& [first, last] : r) text += fmt::format("{}:{}-{}\n", prefix, first, last);
  }
  for (const auto& id : other) text += id + "\n";
  return text;
}

// The file is rewritten compacted once appends have made it this many times its compacted size
// (and at least min_compact_bytes): its size stays proportional to the ranges, not to the batches.
constexpr uint64_t kCompactGrowth = 4;

}  // namespace

void BatchRegistry::AddRangeLocked(const std::string& prefix, uint64_t first, uint64_t last) {
  auto& r = ranges_[prefix];
  // Merge with every range it overlaps or touches.
  auto it = r.upper_bound(first);
  if (it != r.begin()) {
    auto prev = std::prev(it);
    if (prev->second + 1 >= first) {
      first = prev->first;
      last = std::max(last, prev->second);
      it = r.erase(prev);
    }
  }
  while (it != r.end() && it->first <= last + 1) {
    last = std::max(last, it->second);
    it = r.erase(it);
  }
  r[first] = last;
}

void BatchRegistry::AddLocked(const std::string& id) {
  std::string prefix;
  uint64_t n;
  if (Split(id, &prefix, &n)) {
    AddRangeLocked(prefix, n, n);
  } else {
    other_.insert(id);
  }
}

bool BatchRegistry::Contains(const std::string& id) const {
  std::lock_guard lock(mu_);
  std::string prefix;
  uint64_t n;
  if (!Split(id, &prefix, &n)) return other_.count(id) > 0;
  auto it = ranges_.find(prefix);
  if (it == ranges_.end()) return false;
  auto next = it->second.upper_bound(n);
  if (next == it->second.begin()) return false;
  return n <= std::prev(next)->second;
}

void BatchRegistry::Add(const std::string& id) {
  std::lock_guard lock(mu_);
  AddLocked(id);
}

size_t BatchRegistry::ranges() const {
  std::lock_guard lock(mu_);
  size_t n = other_.size();
  for (const auto& [prefix, r] : ranges_) n += r.size();
  return n;
}

arrow::Status BatchRegistry::Open(const std::string& path) {
  std::lock_guard lock(mu_);
  path_ = path;
  if (std::ifstream in(path); in) {
    // Lines: "<id>" (appended) or "<prefix>:<first>-<last>" (compacted).
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      auto colon = line.rfind(':');
      auto dash = line.rfind('-');
      uint64_t first, last;
      if (colon != std::string::npos && dash != std::string::npos && dash > colon &&
          std::from_chars(line.data() + colon + 1, line.data() + dash, first).ec == std::errc() &&
          std::from_chars(line.data() + dash + 1, line.data() + line.size(), last).ec == std::errc()) {
        AddRangeLocked(line.substr(0, colon), first, last);
      } else {
        AddLocked(line);
      }
    }
  }
  return CompactLocked();
}

// One line per range, written beside and renamed over.
arrow::Status BatchRegistry::CompactLocked() {
  const std::string text = Render(ranges_, other_);
  ARROW_RETURN_NOT_OK(ReplaceFileDurably(env_, path_, text));
  compacted_bytes_ = file_bytes_ = text.size();
  return arrow::Status::OK();
}

arrow::Status BatchRegistry::Persist(const std::vector<std::string>& ids) {
  std::lock_guard lock(mu_);
  // The ids of one active file are nearly contiguous per ingest WAL: appended as ranges too.
  BatchRegistry added;
  for (const auto& id : ids) {
    AddLocked(id);
    added.AddLocked(id);
  }
  const std::string text = Render(added.ranges_, added.other_);
  ARROW_ASSIGN_OR_RAISE(auto file, env_->NewWritableFile(path_, Env::OpenMode::kAppend));
  ARROW_RETURN_NOT_OK(file->Append(text));
  ARROW_RETURN_NOT_OK(file->Sync());
  ARROW_RETURN_NOT_OK(file->Close());
  file_bytes_ += text.size();
  if (file_bytes_ > std::max(min_compact_bytes_, kCompactGrowth * compacted_bytes_)) return CompactLocked();
  return arrow::Status::OK();
}

uint64_t BatchRegistry::file_bytes() const {
  std::lock_guard lock(mu_);
  return file_bytes_;
}

}  // namespace openwit::storage
