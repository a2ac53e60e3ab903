#pragma once
// The process's metrics registry (prometheus-cpp core), served as Prometheus text at /metrics.
// Names are written as the seeds write them ("wal.write.latency"); dots become underscores in the
// exposition ("wal_write_latency"). Look a metric up once and keep the reference: lookups lock.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/labels.h>
#include <prometheus/registry.h>

namespace openwit {

class MetricsRegistry {
 public:
  MetricsRegistry();

  // The registry every stage of this process reports to.
  static MetricsRegistry& Default();

  prometheus::Counter& Counter(std::string_view name, std::string_view help, const prometheus::Labels& labels = {});
  prometheus::Gauge& Gauge(std::string_view name, std::string_view help, const prometheus::Labels& labels = {});
  // Latency histograms are in seconds; LatencyBuckets() spans 50 us to 10 s.
  prometheus::Histogram& Histogram(std::string_view name, std::string_view help,
                                   const std::vector<double>& buckets = LatencyBuckets(),
                                   const prometheus::Labels& labels = {});

  static const std::vector<double>& LatencyBuckets();
  // Prometheus text exposition format 0.0.4.
  std::string Serialize() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
};

// "event.ingest.received" -> "event_ingest_received".
std::string PrometheusName(std::string_view dotted);

}  // namespace openwit
