#pragma once
// Lake keys and the metastore row of a stable Parquet file, read from its footer alone (row count,
// time range from the column statistics, schema): the storage node describes what it uploads and
// the janitor what it finds, with the same code.

#include <memory>
#include <string>

#include <arrow/io/interfaces.h>
#include <arrow/result.h>

#include "storage/metastore/metastore.h"

namespace openwit::storage {

// tenant=T/signal=S/date=YYYY-MM-DD/hour=HH/<base>.parquet, from the hour "YYYY-MM-DDTHH".
std::string LakeKey(const std::string& tenant, const std::string& signal, const std::string& hour,
                    const std::string& base);

struct LakeKeyParts {
  std::string tenant;
  std::string signal;
};
// Invalid when the key is not laid out as LakeKey makes it.
arrow::Result<LakeKeyParts> ParseLakeKey(const std::string& key);

// Describes the Parquet file `file` for the metastore (uri, tenant and signal as given).
arrow::Result<LakeFile> DescribeParquet(const std::shared_ptr<arrow::io::RandomAccessFile>& file, std::string uri,
                                        std::string tenant, std::string signal);

// Unix nanoseconds now.
int64_t NowNanos();

}  // namespace openwit::storage
