#include "gateway/kafka_topics.h"

#include <algorithm>
#include <cctype>

#include "common/config_overrides.h"

namespace openwit::gateway {

using ingest::v1::Signal;

bool OffsetTracker::Track(int64_t offset) {
  if (offset < 0 || offset <= last_tracked_) return false;
  last_tracked_ = offset;
  pending_.emplace(offset, false);
  return true;
}

bool OffsetTracker::Ack(int64_t offset) {
  auto it = pending_.find(offset);
  if (it == pending_.end() || it->second) return false;
  it->second = true;
  while (!pending_.empty() && pending_.begin()->second) {
    acked_up_to_ = pending_.begin()->first + 1;
    pending_.erase(pending_.begin());
  }
  return true;
}

std::optional<int64_t> OffsetTracker::Committable() const {
  if (acked_up_to_ < 0 || acked_up_to_ <= committed_) return std::nullopt;
  return acked_up_to_;
}

Signal KafkaTopicSignal(const std::string& telemetry_type, const std::string& topic) {
  if (telemetry_type == "logs") return ingest::v1::SIGNAL_LOGS;
  if (telemetry_type == "traces") return ingest::v1::SIGNAL_TRACES;
  if (telemetry_type == "metrics") return ingest::v1::SIGNAL_METRICS;
  std::string t = topic;
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t.find("logs") != std::string::npos) return ingest::v1::SIGNAL_LOGS;
  if (t.find("traces") != std::string::npos || t.find("spans") != std::string::npos) {
    return ingest::v1::SIGNAL_TRACES;
  }
  if (t.find("metrics") != std::string::npos) return ingest::v1::SIGNAL_METRICS;
  return ingest::v1::SIGNAL_UNSPECIFIED;
}

arrow::Result<KafkaTopicTenants> KafkaTopicTenants::Make(const std::vector<std::string>& entries,
                                                         std::string default_tenant) {
  ARROW_ASSIGN_OR_RAISE(auto parsed, ParseTopicTenants(entries));  // the config's own check: patterns compile
  KafkaTopicTenants out;
  out.default_tenant_ = std::move(default_tenant);
  for (auto& [topic, tenant] : parsed) {
    Rule rule;
    if (topic[0] == '^') {
      try {
        rule.pattern.emplace(topic, std::regex::ECMAScript | std::regex::optimize);
      } catch (const std::regex_error& e) {
        return arrow::Status::Invalid("kafka.topic_tenants: ", topic, ": ", e.what());
      }
    }
    rule.topic = std::move(topic);
    rule.tenant = std::move(tenant);
    out.rules_.push_back(std::move(rule));
  }
  return out;
}

const std::string& KafkaTopicTenants::TenantOf(const std::string& topic) const {
  for (const auto& rule : rules_) {
    if (rule.pattern ? std::regex_search(topic, *rule.pattern) : rule.topic == topic) return rule.tenant;
  }
  return default_tenant_;
}

}  // namespace openwit::gateway
