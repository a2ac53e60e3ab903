#pragma once
// The gateway's authentication and per-tenant quotas (ingestion-architecture.txt, step 2).

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <arrow/status.h>

#include "common/config.h"

namespace openwit::gateway {

// Maps credentials to tenants: `Authorization: Bearer KEY` or `x-api-key: KEY` (HTTP header or
// gRPC metadata). Keys from auth.api_keys and auth.keys_file; the file is read at most once every
// `check_interval` (a second) and its keys replaced whenever its content differs from the last load,
// so keys rotate without a restart and a revocation applies at the next check, even one written in
// the same second as the load before it (a modification time would not tell them apart).
class Authenticator {
 public:
  explicit Authenticator(AuthConfig config, std::chrono::milliseconds check_interval = std::chrono::seconds(1));
  // The tenant, or nullopt with `why` set (no credentials, or an unknown key).
  std::optional<std::string> Authenticate(const std::string& authorization, const std::string& api_key,
                                          std::string* why);

 private:
  void ReloadIfChanged();
  const AuthConfig config_;
  std::mutex mu_;
  std::unordered_map<std::string, std::string> tenant_of_key_;
  std::unordered_map<std::string, std::string> from_config_;
  const std::chrono::milliseconds check_interval_;
  bool file_loaded_ = false;  // file_content_ is what the keys were last read from
  bool file_unreadable_ = false;
  std::string file_content_;
  std::chrono::steady_clock::time_point next_check_{};
};

// Token buckets of records and bytes per tenant, refilled continuously, holding one second's
// worth. A request is admitted while the bucket is not in debt and then takes what it needs, so a
// request larger than one second's quota still passes once the bucket has refilled.
class QuotaLimiter {
 public:
  explicit QuotaLimiter(const QuotaConfig& config);
  // OK, or CapacityError naming the quota, with *retry_after_ms set.
  arrow::Status Admit(const std::string& tenant, int64_t records, int64_t bytes, int64_t* retry_after_ms);

 private:
  struct Limits {
    int64_t records_per_second = 0;
    int64_t bytes_per_second = 0;
  };
  struct Bucket {
    double records = 0;
    double bytes = 0;
    std::chrono::steady_clock::time_point refilled{};
  };
  Limits LimitsFor(const std::string& tenant) const;
  Limits defaults_;
  std::unordered_map<std::string, Limits> overrides_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace openwit::gateway
