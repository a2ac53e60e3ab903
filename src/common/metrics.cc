#include "common/metrics.h"

#include <algorithm>

#include <prometheus/text_serializer.h>

namespace openwit {

MetricsRegistry::MetricsRegistry() : registry_(std::make_shared<prometheus::Registry>()) {}

std::shared_ptr<MetricsRegistry> OwnRegistryIfNone(std::shared_ptr<MetricsRegistry> given) {
  return given ? std::move(given) : std::make_shared<MetricsRegistry>();
}

std::string PrometheusName(std::string_view dotted) {
  std::string name(dotted);
  std::replace_if(
      name.begin(), name.end(), [](char c) { return c == '.' || c == '-'; }, '_');
  return name;
}

prometheus::Counter& MetricsRegistry::Counter(std::string_view name, std::string_view help,
                                              const prometheus::Labels& labels) {
  return prometheus::BuildCounter().Name(PrometheusName(name)).Help(std::string(help)).Register(*registry_).Add(labels);
}

prometheus::Gauge& MetricsRegistry::Gauge(std::string_view name, std::string_view help,
                                          const prometheus::Labels& labels) {
  return prometheus::BuildGauge().Name(PrometheusName(name)).Help(std::string(help)).Register(*registry_).Add(labels);
}

prometheus::Histogram& MetricsRegistry::Histogram(std::string_view name, std::string_view help,
                                                  const std::vector<double>& buckets,
                                                  const prometheus::Labels& labels) {
  return prometheus::BuildHistogram()
      .Name(PrometheusName(name))
      .Help(std::string(help))
      .Register(*registry_)
      .Add(labels, buckets);
}

const std::vector<double>& MetricsRegistry::LatencyBuckets() {
  static const std::vector<double> buckets = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                              0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
  return buckets;
}

std::string MetricsRegistry::Serialize() const { return prometheus::TextSerializer().Serialize(registry_->Collect()); }

std::optional<double> MetricsRegistry::Read(std::string_view name, const prometheus::Labels& labels) const {
  const std::string wanted = PrometheusName(name);
  for (const auto& family : registry_->Collect()) {
    if (family.name != wanted) continue;
    for (const auto& metric : family.metric) {
      prometheus::Labels have;
      for (const auto& label : metric.label) have.emplace(label.name, label.value);
      if (have != labels) continue;
      switch (family.type) {
        case prometheus::MetricType::Counter:
          return metric.counter.value;
        case prometheus::MetricType::Gauge:
          return metric.gauge.value;
        case prometheus::MetricType::Histogram:
          return static_cast<double>(metric.histogram.sample_count);
        default:
          return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

}  // namespace openwit
