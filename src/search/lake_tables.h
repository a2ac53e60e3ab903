#pragma once
// The tables a user queries and the lake files behind them. OpenWit, not the SQL, decides which
// files a query may read: the caller's tenant, the table's signal, and the request's time range
// against each file's time range in the metastore (the indexes will prune further).

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/result.h>

#include "storage/metastore/metastore.h"

namespace openwit::search {

struct LakeTable {
  const char* name;    // what SQL names: logs, spans, metrics
  const char* signal;  // the lake's signal folder and the metastore's signal
};

// logs -> logs, spans -> traces, metrics -> metrics.
const std::vector<LakeTable>& LakeTables();

// The lake tables the SQL text names, as whole words in any case. It may name one that a string
// literal holds: that only lets the query see a table of its own tenant it did not use.
std::vector<LakeTable> TablesNamedIn(std::string_view sql);

// A lake file in an object store (s3://, gs://), which DuckDB reads through the search cache.
struct LakeFileRef {
  std::string key;         // the lake key (tenant=T/signal=S/date=.../hour=HH/NAME.parquet)
  int64_t size_bytes = 0;  // as the metastore has it
};

// The files of one table for one query, and how many were looked at.
struct TableFiles {
  LakeTable table;
  std::vector<std::string> paths;   // local paths handed to DuckDB (a file:// lake)
  std::vector<LakeFileRef> remote;  // or the files of an object-store lake, to fetch first (lake_cache.h)
  int64_t considered = 0;           // files of the tenant and signal
  int64_t fresh = 0;                // of those, left out: published since the fresh answer, which holds their rows
  int64_t pruned = 0;               // of those, outside the time range
  int64_t bytes = 0;                // size of the files kept
};

// The files of `table` for `tenant` that overlap [start_ns, end_ns) (either bound optional), but
// none whose stem is in `fresh_stems` (fresh_source.h).
// Every file must lie under `lake_uri_root`/tenant=<tenant>/signal=<signal>/ (a metastore row
// pointing elsewhere is refused, not followed): `paths` of a file:// lake, `remote` keys of others.
arrow::Result<TableFiles> ChooseFiles(storage::Metastore* metastore, const std::string& lake_uri_root,
                                      const std::string& tenant, const LakeTable& table,
                                      std::optional<int64_t> start_ns, std::optional<int64_t> end_ns,
                                      const std::set<std::string>& fresh_stems = {});

}  // namespace openwit::search
