#pragma once
// Where the search role gets records that are acknowledged but not in the metastore yet (issue #13,
// "Fresh"): the storage nodes' active files and stable files waiting for publication. The query
// engine asks before it lists the metastore, and skips every lake file whose stem came with the
// answer: that file was published in between, and its rows are in the answer already.
// Implementations: StorageFreshSource (storage nodes over Arrow Flight), fakes in tests.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <arrow/record_batch.h>
#include <arrow/result.h>

namespace openwit::search {

struct FreshBatch {
  std::string stem;  // of the file it comes from; the lake file of the same stem holds the same rows
  std::shared_ptr<arrow::RecordBatch> batch;
};

struct FreshData {
  std::vector<FreshBatch> batches;
  int64_t sources_unreachable = 0;  // storage nodes that did not answer: their fresh rows are missing
};

class FreshSource {
 public:
  virtual ~FreshSource() = default;
  // The unpublished batches of `tenant` and `signal` (logs, traces, metrics), of every source that
  // answered. An error only when nothing could be asked at all.
  virtual arrow::Result<FreshData> Fetch(const std::string& tenant, const std::string& signal) = 0;
};

}  // namespace openwit::search
