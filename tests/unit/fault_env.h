#pragma once
// An Env (common/env.h) for durability tests: it does everything on the real filesystem and
// remembers what was made durable, so that PowerLoss() can take away everything else, as a machine
// losing power would: appends not synced are cut, new names (files, rename targets, directories)
// whose directory was not synced disappear (a rename is undone), and it can fail a chosen call.
// Only what goes through it is tracked: files written otherwise count as durable.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/env.h"

namespace openwit::testing {

class FaultEnv final : public Env {
 public:
  // The next Sync / Append / SyncDir / RenameFile of a path containing `part` fails (once each).
  void FailSync(std::string part) {
    Lock lock(mu_);
    fail_sync_.push_back(std::move(part));
  }
  void FailAppendWithNoSpace(std::string part) {
    Lock lock(mu_);
    fail_append_.push_back(std::move(part));
  }
  void FailSyncDir(std::string part) {
    Lock lock(mu_);
    fail_sync_dir_.push_back(std::move(part));
  }

  // What survives a power loss now: the durable state, nothing else. Tracking starts afresh.
  void PowerLoss() {
    Lock lock(mu_);
    namespace fs = std::filesystem;
    std::error_code ec;
    for (auto it = renames_.rbegin(); it != renames_.rend(); ++it) {
      fs::rename(it->to, it->from, ec);
      if (it->old_to) std::ofstream(it->to, std::ios::binary | std::ios::trunc) << *it->old_to;
      if (files_.count(it->to)) {
        files_[it->from] = files_[it->to];
        files_[it->from].new_name = it->from_was_new;
      }
      files_.erase(it->to);
      if (it->old_to_state) files_[it->to] = *it->old_to_state;
    }
    for (const auto& [path, state] : files_) {
      if (state.new_name) {
        fs::remove(path, ec);
      } else if (fs::exists(path) && static_cast<int64_t>(fs::file_size(path)) > state.synced) {
        fs::resize_file(path, static_cast<uintmax_t>(state.synced), ec);
      }
    }
    std::vector<std::string> dirs(new_dirs_.begin(), new_dirs_.end());
    std::sort(dirs.begin(), dirs.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    for (const auto& dir : dirs) fs::remove_all(dir, ec);
    files_.clear();
    renames_.clear();
    new_dirs_.clear();
    ++power_losses_;
  }

  int power_losses() const { return power_losses_; }

  arrow::Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path, OpenMode mode) override {
    Lock lock(mu_);
    const bool existed = std::filesystem::exists(path);
    ARROW_ASSIGN_OR_RAISE(auto file, Env::Default()->NewWritableFile(path, mode));
    auto tracked = files_.find(path);
    if (!existed) {
      files_[path] = State{0, 0, true};
    } else if (tracked == files_.end()) {
      const auto size = static_cast<int64_t>(std::filesystem::file_size(path));
      files_[path] = mode == OpenMode::kAppend ? State{size, size, false} : State{0, 0, false};
    } else if (mode == OpenMode::kTruncate) {
      tracked->second.size = tracked->second.synced = 0;
    }
    return std::make_unique<File>(this, std::move(file));
  }

  arrow::Status RenameFile(const std::string& from, const std::string& to) override {
    Lock lock(mu_);
    if (Take(fail_rename_, to)) return arrow::Status::IOError("injected: rename to ", to, " failed");
    Rename r{from, to, std::nullopt, std::nullopt, files_.count(from) > 0 && files_[from].new_name};
    if (std::filesystem::exists(to)) {
      std::ifstream in(to, std::ios::binary);
      std::stringstream contents;
      contents << in.rdbuf();
      r.old_to = contents.str();
    }
    if (files_.count(to)) r.old_to_state = files_[to];
    ARROW_RETURN_NOT_OK(Env::Default()->RenameFile(from, to));
    auto moved = files_.find(from);
    // A file written before tracking began is durable as it is.
    State state = moved != files_.end() ? moved->second : State{0, 0, false};
    if (moved == files_.end()) state.size = state.synced = static_cast<int64_t>(std::filesystem::file_size(to));
    state.new_name = false;  // the rename record says whether the name lasts
    files_.erase(from);
    files_[to] = state;
    renames_.push_back(std::move(r));
    return arrow::Status::OK();
  }

  arrow::Status SyncDir(const std::string& dir) override {
    Lock lock(mu_);
    if (Take(fail_sync_dir_, dir)) return arrow::Status::IOError("injected: fsync of directory ", dir, " failed");
    ARROW_RETURN_NOT_OK(Env::Default()->SyncDir(dir));
    const std::string d = Normal(dir);
    for (auto& [path, state] : files_) {
      if (Normal(ParentDir(path)) == d) state.new_name = false;
    }
    renames_.erase(
        std::remove_if(renames_.begin(), renames_.end(), [&](const Rename& r) { return Normal(ParentDir(r.to)) == d; }),
        renames_.end());
    for (auto it = new_dirs_.begin(); it != new_dirs_.end();) {
      it = Normal(ParentDir(*it)) == d ? new_dirs_.erase(it) : std::next(it);
    }
    return arrow::Status::OK();
  }

  arrow::Status CreateDirs(const std::string& dir) override {
    Lock lock(mu_);
    std::vector<std::filesystem::path> missing;
    for (std::filesystem::path p(dir); !p.empty() && !std::filesystem::exists(p); p = p.parent_path()) {
      missing.push_back(p);
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
      std::error_code ec;
      std::filesystem::create_directory(*it, ec);
      if (ec) return arrow::Status::IOError("cannot create ", it->string(), ": ", ec.message());
      new_dirs_.insert(it->string());
      ARROW_RETURN_NOT_OK(SyncDir(ParentDir(it->string())));
    }
    return arrow::Status::OK();
  }

  arrow::Status RemoveFile(const std::string& path) override {
    Lock lock(mu_);
    files_.erase(path);
    return Env::Default()->RemoveFile(path);
  }

 private:
  struct State {
    int64_t size = 0;
    int64_t synced = 0;     // bytes that survive a power loss
    bool new_name = false;  // created since its directory was last synced
  };
  struct Rename {
    std::string from, to;
    std::optional<std::string> old_to;  // what `to` held before, back at a power loss
    std::optional<State> old_to_state;
    bool from_was_new = false;  // undone, the old name is as durable as it was
  };

  class File final : public WritableFile {
   public:
    File(FaultEnv* env, std::unique_ptr<WritableFile> base) : env_(env), base_(std::move(base)) {}
    arrow::Status Append(std::string_view data) override {
      Lock lock(env_->mu_);
      if (env_->Take(env_->fail_append_, path())) {
        return arrow::Status::IOError("injected: write ", path(), ": No space left on device");
      }
      ARROW_RETURN_NOT_OK(base_->Append(data));
      env_->files_[path()].size += static_cast<int64_t>(data.size());
      return arrow::Status::OK();
    }
    arrow::Status Sync() override {
      Lock lock(env_->mu_);
      if (env_->Take(env_->fail_sync_, path()))
        return arrow::Status::IOError("injected: fdatasync ", path(), " failed");
      ARROW_RETURN_NOT_OK(base_->Sync());
      auto& state = env_->files_[path()];
      state.synced = state.size;
      return arrow::Status::OK();
    }
    arrow::Status Close() override { return base_->Close(); }
    const std::string& path() const override { return base_->path(); }

   private:
    FaultEnv* env_;
    std::unique_ptr<WritableFile> base_;
  };

  static bool Take(std::vector<std::string>& parts, const std::string& path) {
    for (auto it = parts.begin(); it != parts.end(); ++it) {
      if (path.find(*it) != std::string::npos) {
        parts.erase(it);
        return true;
      }
    }
    return false;
  }
  static std::string Normal(const std::string& dir) { return std::filesystem::path(dir).lexically_normal().string(); }

  // Storage's streams write from gRPC threads while a test injects faults: one lock for all of it
  // (recursive: CreateDirs syncs directories).
  using Lock = std::lock_guard<std::recursive_mutex>;
  mutable std::recursive_mutex mu_;
  std::map<std::string, State> files_;
  std::vector<Rename> renames_;  // not yet durable: their target's directory was not synced since
  std::set<std::string> new_dirs_;
  std::vector<std::string> fail_sync_, fail_append_, fail_sync_dir_, fail_rename_;
  int power_losses_ = 0;
};

}  // namespace openwit::testing
