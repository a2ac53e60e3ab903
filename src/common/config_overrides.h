#pragma once
// The "KEY=VALUE" override lists of the configuration (quotas.overrides,
// janitor.retention_overrides, kafka.topic_tenants) and the tenant names they hold: one parser for
// all of them. Checked at config load (config.cc) and used by the parts each list configures.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <arrow/result.h>

namespace openwit {

// A tenant name as the lake's partitions and the API keys have it: 1-128 letters, digits, '-', '_' or
// '.', and not "." or "..". The one rule of the gateway, the ingest node and storage.
bool ValidTenantName(std::string_view tenant);

// The "KEY=VALUE" entries of an override list (quotas.overrides, janitor.retention_overrides,
// kafka.topic_tenants) in their order, split at the last '=' (a key may be a regular expression
// holding one; no value does). `check` says why a key and value are wrong, or "" when they are
// fine; an error names the entry and `shape` ("tenant=DAYS").
using OverrideCheck = std::function<std::string(const std::string& key, const std::string& value)>;
arrow::Result<std::vector<std::pair<std::string, std::string>>> ParseOverrides(const std::vector<std::string>& entries,
                                                                               std::string_view shape,
                                                                               const OverrideCheck& check);

// The "tenant=DAYS" entries of janitor.retention_overrides, by tenant.
arrow::Result<std::map<std::string, int64_t>> ParseRetentionOverrides(const std::vector<std::string>& entries);

struct QuotaLimits {
  int64_t records_per_second = 0;
  int64_t bytes_per_second = 0;
};
// The "tenant=RECORDS_PER_SECOND:BYTES_PER_SECOND" entries of quotas.overrides, by tenant.
arrow::Result<std::map<std::string, QuotaLimits>> ParseQuotaOverrides(const std::vector<std::string>& entries);

// The "TOPIC=tenant" / "^PATTERN=tenant" entries of kafka.topic_tenants as (topic or ^pattern,
// tenant), in order; every pattern compiles (ECMAScript) and every tenant is a valid name.
arrow::Result<std::vector<std::pair<std::string, std::string>>> ParseTopicTenants(
    const std::vector<std::string>& entries);

}  // namespace openwit
