#pragma once
// A metrics registry (prometheus-cpp core), served as Prometheus text at /metrics.
// Names are written as the seeds write them ("wal.write.latency"); dots become underscores in the
// exposition ("wal_write_latency"). Look a metric up once and keep the reference: lookups lock.
//
// There is no process-wide registry: a node owns one and hands it (a shared_ptr, so the metrics
// live as long as the last object that reports to them) to every object it builds, in the
// object's options. An object handed none reports to one of its own (OwnRegistryIfNone). So a
// test reads the counters of the objects it made, and two nodes in one process count apart.

#include <memory>
#include <optional>
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

  prometheus::Counter& Counter(std::string_view name, std::string_view help, const prometheus::Labels& labels = {});
  prometheus::Gauge& Gauge(std::string_view name, std::string_view help, const prometheus::Labels& labels = {});
  // Latency histograms are in seconds; LatencyBuckets() spans 50 us to 10 s.
  prometheus::Histogram& Histogram(std::string_view name, std::string_view help,
                                   const std::vector<double>& buckets = LatencyBuckets(),
                                   const prometheus::Labels& labels = {});

  static const std::vector<double>& LatencyBuckets();
  // Prometheus text exposition format 0.0.4.
  std::string Serialize() const;
  // What a test reads: a counter's or a gauge's value, a histogram's count of observations;
  // nullopt when no metric of that name (seed spelling) and those labels was registered.
  std::optional<double> Read(std::string_view name, const prometheus::Labels& labels = {}) const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
};

// `given`, or a new registry when none was given.
std::shared_ptr<MetricsRegistry> OwnRegistryIfNone(std::shared_ptr<MetricsRegistry> given);

// "event.ingest.received" -> "event_ingest_received".
std::string PrometheusName(std::string_view dotted);

}  // namespace openwit
