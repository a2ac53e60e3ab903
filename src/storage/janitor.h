#pragma once
// The janitor role: keeps the metastore and the lake in agreement and applies retention.
// - A stable file in the object store that the metastore lacks (its upload succeeded, the metadata
//   write did not) is described from its Parquet footer and registered.
// - Files whose newest row is older than their tenant's retention are forgotten by the metastore
//   first (search stops planning them), then deleted from the object store.
// Active files are not its business: the storage node that owns them recovers their complete
// batches when it starts (flight_server.h).

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <arrow/result.h>

#include "common/metrics.h"
#include "storage/metastore/metastore.h"
#include "storage/object_store.h"

namespace openwit::storage {

struct JanitorOptions {
  std::chrono::seconds interval{300};
  int64_t retention_days = 30;                                // 0: keep forever
  std::map<std::string, int64_t> tenant_retention_days = {};  // overrides per tenant
  // Where it reports: the node's registry; null: a registry of its own.
  std::shared_ptr<MetricsRegistry> metrics = nullptr;
};

struct JanitorReport {
  int64_t registered = 0;  // found in the lake, added to the metastore
  int64_t expired = 0;     // past retention, forgotten and deleted
  int64_t unreadable = 0;  // objects that are not lake Parquet files (left alone, logged)
};

class Janitor {
 public:
  Janitor(JanitorOptions options, ObjectStore* lake, Metastore* metastore);
  ~Janitor();

  // One pass; `now_ns` is the clock retention is measured against.
  arrow::Result<JanitorReport> RunOnce(int64_t now_ns);
  // Passes every interval on a thread of its own until Stop.
  void Start();
  void Stop();

 private:
  const JanitorOptions options_;
  const std::shared_ptr<MetricsRegistry> metrics_;
  prometheus::Counter& registered_;
  prometheus::Counter& expired_;
  prometheus::Counter& unreadable_;
  ObjectStore* lake_;
  Metastore* metastore_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace openwit::storage
