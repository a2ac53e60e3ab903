#include "search/database_pool.h"

#include <vector>

namespace openwit::search {

arrow::Result<DatabasePool::Lease> DatabasePool::Acquire(const std::string& tenant) {
  // Closed after the lock is released (closing a database takes milliseconds); declared first so
  // that it goes last.
  std::vector<std::shared_ptr<DuckDbDatabase>> closing;
  const auto now = Clock::now();
  {
    std::lock_guard lock(mu_);
    for (auto it = databases_.begin(); it != databases_.end();) {
      if (it->first != tenant && now - it->second.last_used > options_.idle) {
        closing.push_back(std::move(it->second.database));
        it = databases_.erase(it);
      } else {
        ++it;
      }
    }
    if (auto it = databases_.find(tenant); it != databases_.end()) {
      auto session = DuckDbDatabase::Lease(it->second.database);
      if (session.ok()) {
        it->second.last_used = now;
        return Lease{std::move(*session), true};
      }
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto database, DuckDbDatabase::Open(options_.settings_of(tenant)));
  ARROW_ASSIGN_OR_RAISE(auto session, DuckDbDatabase::Lease(database));
  if (options_.capacity > 0) {
    std::lock_guard lock(mu_);
    auto& entry = databases_[tenant];
    if (entry.database) closing.push_back(std::move(entry.database));  // every connection busy: the new one serves next
    entry = {std::move(database), now};
    while (databases_.size() > options_.capacity) {
      auto oldest = databases_.end();
      for (auto it = databases_.begin(); it != databases_.end(); ++it) {
        if (it->first != tenant && (oldest == databases_.end() || it->second.last_used < oldest->second.last_used)) {
          oldest = it;
        }
      }
      closing.push_back(std::move(oldest->second.database));
      databases_.erase(oldest);
    }
  }
  return Lease{std::move(session), false};
}

}  // namespace openwit::search
