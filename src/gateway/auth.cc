#include "gateway/auth.h"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include <spdlog/spdlog.h>

#include "common/config_overrides.h"

namespace openwit::gateway {
namespace {

// "tenant=key" -> (key, tenant); false for anything else, a tenant name storage would refuse too.
bool ParseEntry(const std::string& line, std::string* key, std::string* tenant) {
  auto eq = line.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 >= line.size()) return false;
  *tenant = line.substr(0, eq);
  if (!ValidTenantName(*tenant)) return false;
  *key = line.substr(eq + 1);
  while (!key->empty() && (key->back() == '\r' || key->back() == ' ')) key->pop_back();
  return !key->empty();
}

}  // namespace

Authenticator::Authenticator(AuthConfig config, std::chrono::milliseconds check_interval)
    : config_(std::move(config)), check_interval_(check_interval) {
  for (const auto& entry : config_.api_keys) {
    std::string key, tenant;
    if (ParseEntry(entry, &key, &tenant)) from_config_[key] = tenant;
  }
  tenant_of_key_ = from_config_;
  ReloadIfChanged();
}

void Authenticator::ReloadIfChanged() {
  if (config_.keys_file.empty()) return;
  std::ifstream in(config_.keys_file, std::ios::binary);
  if (!in) {
    if (!file_unreadable_) spdlog::warn("auth.keys_file {} is unreadable: only auth.api_keys apply", config_.keys_file);
    file_unreadable_ = true;
    file_loaded_ = false;
    tenant_of_key_ = from_config_;
    return;
  }
  file_unreadable_ = false;
  std::string content(std::istreambuf_iterator<char>(in), {});
  // The content, not the modification time, says whether it changed: a key revoked within the
  // second of the previous load has the same mtime on most filesystems.
  if (file_loaded_ && content == file_content_) return;
  auto keys = from_config_;
  std::istringstream lines(content);
  int n = 0, line_no = 0;
  for (std::string line; std::getline(lines, line);) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    std::string key, tenant;
    if (!ParseEntry(line, &key, &tenant)) {
      spdlog::warn("{}:{}: not \"tenant=key\" with a tenant of 1-128 letters, digits, '-', '_', '.'; line ignored",
                   config_.keys_file, line_no);
      continue;
    }
    keys[key] = tenant;
    ++n;
  }
  tenant_of_key_ = std::move(keys);
  file_content_ = std::move(content);
  file_loaded_ = true;
  spdlog::info("auth: {} keys loaded from {}", n, config_.keys_file);
}

std::optional<std::string> Authenticator::Authenticate(const std::string& authorization, const std::string& api_key,
                                                       std::string* why) {
  if (!config_.enabled) return config_.default_tenant;
  std::string key = api_key;
  if (key.empty() && authorization.rfind("Bearer ", 0) == 0) key = authorization.substr(7);
  if (key.empty()) {
    *why = "missing credentials: send Authorization: Bearer <API key> or x-api-key: <API key>";
    return std::nullopt;
  }
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (now >= next_check_) {
    ReloadIfChanged();
    next_check_ = now + check_interval_;
  }
  auto it = tenant_of_key_.find(key);
  if (it == tenant_of_key_.end()) {
    *why = "unknown API key";
    return std::nullopt;
  }
  return it->second;
}

QuotaLimiter::QuotaLimiter(const QuotaConfig& config) {
  defaults_ = {config.records_per_second, config.bytes_per_second};
  // Checked when the config was loaded (ParseQuotaOverrides there too): nothing to report here.
  for (const auto& [tenant, limits] : ParseQuotaOverrides(config.overrides).ValueOr({})) {
    overrides_[tenant] = {limits.records_per_second, limits.bytes_per_second};
  }
}

QuotaLimiter::Limits QuotaLimiter::LimitsFor(const std::string& tenant) const {
  auto it = overrides_.find(tenant);
  return it == overrides_.end() ? defaults_ : it->second;
}

arrow::Status QuotaLimiter::Admit(const std::string& tenant, int64_t records, int64_t bytes, int64_t* retry_after_ms) {
  const Limits limits = LimitsFor(tenant);
  if (limits.records_per_second == 0 && limits.bytes_per_second == 0) return arrow::Status::OK();
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  auto [it, fresh] = buckets_.try_emplace(tenant);
  Bucket& b = it->second;
  if (fresh) b = {static_cast<double>(limits.records_per_second), static_cast<double>(limits.bytes_per_second), now};
  const double elapsed = std::chrono::duration<double>(now - b.refilled).count();
  b.refilled = now;
  b.records = std::min<double>(limits.records_per_second, b.records + elapsed * limits.records_per_second);
  b.bytes = std::min<double>(limits.bytes_per_second, b.bytes + elapsed * limits.bytes_per_second);
  auto wait_ms = [](double debt, int64_t rate) { return static_cast<int64_t>(-debt * 1000 / rate) + 1; };
  if (limits.records_per_second > 0 && b.records < 0) {
    *retry_after_ms = wait_ms(b.records, limits.records_per_second);
    return arrow::Status::CapacityError("tenant ", tenant, " is over its quota of ", limits.records_per_second,
                                        " records/s (quotas.records_per_second)");
  }
  if (limits.bytes_per_second > 0 && b.bytes < 0) {
    *retry_after_ms = wait_ms(b.bytes, limits.bytes_per_second);
    return arrow::Status::CapacityError("tenant ", tenant, " is over its quota of ", limits.bytes_per_second,
                                        " bytes/s (quotas.bytes_per_second)");
  }
  if (limits.records_per_second > 0) b.records -= static_cast<double>(records);
  if (limits.bytes_per_second > 0) b.bytes -= static_cast<double>(bytes);
  return arrow::Status::OK();
}

}  // namespace openwit::gateway
