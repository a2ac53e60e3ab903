#include "common/config_overrides.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <regex>

#include <fmt/format.h>

namespace openwit {

bool ValidTenantName(std::string_view t) {
  // A tenant names a folder of the lake (tenant=T/...): "." and ".." are not names.
  if (t == "." || t == "..") return false;
  return !t.empty() && t.size() <= 128 && std::all_of(t.begin(), t.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.';
  });
}

arrow::Result<std::vector<std::pair<std::string, std::string>>> ParseOverrides(const std::vector<std::string>& entries,
                                                                               std::string_view shape,
                                                                               const OverrideCheck& check) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& entry : entries) {
    const auto eq = entry.rfind('=');
    std::string why = "no '='";
    if (eq != std::string::npos) {
      out.emplace_back(entry.substr(0, eq), entry.substr(eq + 1));
      why = out.back().first.empty() ? "nothing before the '='" : check(out.back().first, out.back().second);
    }
    if (!why.empty()) return arrow::Status::Invalid("\"", entry, "\" is not ", shape, ": ", why);
  }
  return out;
}

namespace {

// A whole number >= 0 in `text`, or -1.
int64_t NonNegative(std::string_view text) {
  int64_t n = -1;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty() && n >= 0 ? n : -1;
}

std::string CheckTenant(const std::string& tenant) {
  return ValidTenantName(tenant) ? "" : fmt::format("\"{}\" is not a tenant (letters, digits, '-', '_', '.')", tenant);
}

}  // namespace

arrow::Result<std::map<std::string, int64_t>> ParseRetentionOverrides(const std::vector<std::string>& entries) {
  ARROW_ASSIGN_OR_RAISE(auto parsed,
                        ParseOverrides(entries, "tenant=DAYS", [](const std::string& tenant, const std::string& days) {
                          return NonNegative(days) < 0 ? "DAYS must be a whole number >= 0" : CheckTenant(tenant);
                        }));
  std::map<std::string, int64_t> out;
  for (const auto& [tenant, days] : parsed) out[tenant] = NonNegative(days);
  return out;
}

arrow::Result<std::map<std::string, QuotaLimits>> ParseQuotaOverrides(const std::vector<std::string>& entries) {
  auto split = [](const std::string& value) {
    const auto colon = value.find(':');
    if (colon == std::string::npos) return std::pair<int64_t, int64_t>{-1, -1};
    return std::pair{NonNegative(std::string_view(value).substr(0, colon)),
                     NonNegative(std::string_view(value).substr(colon + 1))};
  };
  ARROW_ASSIGN_OR_RAISE(auto parsed, ParseOverrides(entries, "\"tenant=RECORDS_PER_SECOND:BYTES_PER_SECOND\"",
                                                    [&](const std::string& tenant, const std::string& value) {
                                                      auto [records, bytes] = split(value);
                                                      if (records < 0 || bytes < 0) {
                                                        return std::string("both limits must be whole numbers >= 0");
                                                      }
                                                      return CheckTenant(tenant);
                                                    }));
  std::map<std::string, QuotaLimits> out;
  for (const auto& [tenant, value] : parsed) out[tenant] = {split(value).first, split(value).second};
  return out;
}

arrow::Result<std::vector<std::pair<std::string, std::string>>> ParseTopicTenants(
    const std::vector<std::string>& entries) {
  return ParseOverrides(entries, "TOPIC=tenant or ^PATTERN=tenant",
                        [](const std::string& topic, const std::string& tenant) -> std::string {
                          if (topic[0] == '^') {
                            try {
                              std::regex compiled(topic);
                            } catch (const std::regex_error& e) {
                              return fmt::format("the pattern {} does not compile: {}", topic, e.what());
                            }
                          }
                          return CheckTenant(tenant);
                        });
}

}  // namespace openwit
