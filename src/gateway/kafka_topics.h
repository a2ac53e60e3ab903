#pragma once
// What the Kafka source (kafka_source.h) decides without a broker: the signal and tenant of a
// topic's records, and which offset of a partition may be committed when acks come back in any
// order.

#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <arrow/result.h>

#include "openwit/ingest.pb.h"

namespace openwit::gateway {

// Commit bookkeeping of one partition. Offsets are tracked in the order they are consumed
// (strictly increasing, gaps allowed: compaction, transaction markers); each is acked once,
// in any order. The committable offset is the last offset of the acked prefix plus one.
class OffsetTracker {
 public:
  // Registers a consumed offset; false (ignored) when not above every tracked one.
  bool Track(int64_t offset);
  // Marks a tracked offset as done; false when it is not tracked (already acked, or unknown).
  bool Ack(int64_t offset);
  // The offset to commit now (last offset of the acked prefix + 1), when it moved past the last
  // MarkCommitted; nullopt otherwise.
  std::optional<int64_t> Committable() const;
  // The acked prefix + 1 (what a commit would say), or nullopt when nothing was ever acked.
  std::optional<int64_t> AckedUpTo() const { return acked_up_to_ >= 0 ? std::optional(acked_up_to_) : std::nullopt; }
  void MarkCommitted(int64_t offset) { committed_ = std::max(committed_, offset); }
  // Offsets tracked and not yet in the acked prefix.
  size_t outstanding() const { return pending_.size(); }

 private:
  std::map<int64_t, bool> pending_;  // offset -> acked, only past the acked prefix
  int64_t last_tracked_ = -1;
  int64_t acked_up_to_ = -1;  // -1: nothing acked yet
  int64_t committed_ = -1;
};

// The signal of a topic's messages: `telemetry_type` unless auto, else from the topic name
// (containing "logs", "traces"/"spans" or "metrics"); SIGNAL_UNSPECIFIED when it cannot tell.
ingest::v1::Signal KafkaTopicSignal(const std::string& telemetry_type, const std::string& topic);

// The tenant of a topic's records (kafka.topic_tenants): the first entry equal to the topic or whose
// ^pattern is found in its name (as librdkafka matches kafka.topics), else the default tenant.
class KafkaTopicTenants {
 public:
  static arrow::Result<KafkaTopicTenants> Make(const std::vector<std::string>& entries, std::string default_tenant);
  const std::string& TenantOf(const std::string& topic) const;

 private:
  struct Rule {
    std::string topic;                  // exact name, when no pattern
    std::optional<std::regex> pattern;  // an entry starting with ^
    std::string tenant;
  };
  std::vector<Rule> rules_;
  std::string default_tenant_ = "default";
};

}  // namespace openwit::gateway
