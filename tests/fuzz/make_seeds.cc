// Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/) with OpenWit's own
// writers, so a seed is what the code really reads: OTLP resources and requests built with the
// generated classes, a bulk batch of each signal, WAL segments written by Wal, active files written
// by ActiveFile, and the config files of config/. Run by `make fuzz-seeds`; the output is
// committed. Usage: openwit_fuzz_seeds SOURCE_DIR

#include <zlib.h>
#include <zstd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "ingest/arrow_convert.h"
#include "ingest/wal/wal.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "openwit/ingest.pb.h"
#include "storage/active_file.h"

namespace openwit::fuzz {
namespace {

namespace fs = std::filesystem;
namespace common = opentelemetry::proto::common::v1;
namespace logs = opentelemetry::proto::logs::v1;
namespace trace = opentelemetry::proto::trace::v1;
namespace metrics = opentelemetry::proto::metrics::v1;
namespace collector = opentelemetry::proto::collector;
using Attributes = google::protobuf::RepeatedPtrField<common::KeyValue>;

constexpr uint64_t kT0 = 1700000000123456789;

std::string Id(int n, int first) {
  std::string id;
  for (int i = 0; i < n; ++i) id.push_back(static_cast<char>(first + i));
  return id;
}

common::AnyValue* Attr(Attributes* attrs, const std::string& key) {
  common::KeyValue* kv = attrs->Add();
  kv->set_key(key);
  return kv->mutable_value();
}

// Every kind of value, for attribute lists.
void ValuesOfEveryKind(Attributes* attrs) {
  Attr(attrs, "http.route")->set_string_value("/pay");
  Attr(attrs, "retry")->set_int_value(3);
  Attr(attrs, "ratio")->set_double_value(0.25);
  Attr(attrs, "sampled")->set_bool_value(true);
  Attr(attrs, "raw")->set_bytes_value("\x01\x02\xff");
  auto* array = Attr(attrs, "tags")->mutable_array_value();
  array->add_values()->set_string_value("a");
  array->add_values()->set_int_value(7);
  auto* kv = Attr(attrs, "nested")->mutable_kvlist_value()->add_values();
  kv->set_key("k");
  kv->mutable_value()->set_string_value("v");
}

void SetResource(opentelemetry::proto::resource::v1::Resource* resource, const std::string& service) {
  Attr(resource->mutable_attributes(), "service.name")->set_string_value(service);
  Attr(resource->mutable_attributes(), "host.cpus")->set_int_value(8);
}

void SetScope(common::InstrumentationScope* scope) {
  scope->set_name("io.openwit.fuzz");
  scope->set_version("1.2.3");
  Attr(scope->mutable_attributes(), "lib.debug")->set_bool_value(true);
}

logs::ResourceLogs Logs() {
  logs::ResourceLogs r;
  r.set_schema_url("https://opentelemetry.io/schemas/1.26.0");
  SetResource(r.mutable_resource(), "checkout");
  auto* scope = r.add_scope_logs();
  SetScope(scope->mutable_scope());
  scope->set_schema_url("https://opentelemetry.io/schemas/1.24.0");
  auto* full = scope->add_log_records();
  full->set_time_unix_nano(kT0);
  full->set_observed_time_unix_nano(kT0 + 100);
  full->set_trace_id(Id(16, 1));
  full->set_span_id(Id(8, 101));
  full->set_flags(1);
  full->set_severity_text("ERROR");
  full->set_severity_number(logs::SEVERITY_NUMBER_ERROR);
  full->mutable_body()->set_string_value("payment failed: \"card declined\"");
  ValuesOfEveryKind(full->mutable_attributes());
  full->set_event_name("payment.failed");
  auto* sparse = r.add_scope_logs()->add_log_records();
  sparse->set_observed_time_unix_nano(kT0 + 1);
  sparse->mutable_body()->set_int_value(42);
  return r;
}

trace::ResourceSpans Spans() {
  trace::ResourceSpans r;
  SetResource(r.mutable_resource(), "frontend");
  auto* scope = r.add_scope_spans();
  SetScope(scope->mutable_scope());
  auto* span = scope->add_spans();
  span->set_trace_id(Id(16, 1));
  span->set_span_id(Id(8, 101));
  span->set_parent_span_id(Id(8, 201));
  span->set_trace_state("vendor=a");
  span->set_name("GET /cart");
  span->set_kind(trace::Span::SPAN_KIND_SERVER);
  span->set_start_time_unix_nano(kT0);
  span->set_end_time_unix_nano(kT0 + 1500);
  ValuesOfEveryKind(span->mutable_attributes());
  span->mutable_status()->set_code(trace::Status::STATUS_CODE_ERROR);
  span->mutable_status()->set_message("upstream timeout");
  auto* event = span->add_events();
  event->set_time_unix_nano(kT0 + 10);
  event->set_name("retry");
  Attr(event->mutable_attributes(), "attempt")->set_int_value(2);
  auto* link = span->add_links();
  link->set_trace_id(Id(16, 51));
  link->set_span_id(Id(8, 151));
  Attr(link->mutable_attributes(), "link.kind")->set_string_value("follows");
  auto* child = scope->add_spans();
  child->set_trace_id(Id(16, 1));
  child->set_span_id(Id(8, 102));
  child->set_name("db");
  child->set_start_time_unix_nano(kT0 + 5);
  child->set_end_time_unix_nano(kT0 + 6);
  return r;
}

metrics::ResourceMetrics Metrics() {
  metrics::ResourceMetrics r;
  SetResource(r.mutable_resource(), "billing");
  auto* scope = r.add_scope_metrics();
  SetScope(scope->mutable_scope());
  auto exemplar = [](auto* point) {
    auto* e = point->add_exemplars();
    e->set_time_unix_nano(kT0);
    e->set_as_double(1.5);
    e->set_trace_id(Id(16, 1));
    e->set_span_id(Id(8, 101));
    Attr(e->mutable_filtered_attributes(), "user")->set_string_value("u1");
  };
  auto* gauge = scope->add_metrics();
  gauge->set_name("cpu.usage");
  gauge->set_unit("1");
  gauge->set_description("CPU");
  for (int i = 0; i < 2; ++i) {
    auto* p = gauge->mutable_gauge()->add_data_points();
    p->set_time_unix_nano(kT0 + i);
    p->set_as_double(0.5 + i);
    Attr(p->mutable_attributes(), "cpu")->set_int_value(i);
    exemplar(p);
  }
  auto* sum = scope->add_metrics();
  sum->set_name("requests");
  sum->mutable_sum()->set_is_monotonic(true);
  sum->mutable_sum()->set_aggregation_temporality(metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
  auto* sp = sum->mutable_sum()->add_data_points();
  sp->set_start_time_unix_nano(kT0 - 1000);
  sp->set_time_unix_nano(kT0);
  sp->set_as_int(12);
  auto* histogram = scope->add_metrics();
  histogram->set_name("latency");
  auto* hp = histogram->mutable_histogram()->add_data_points();
  hp->set_time_unix_nano(kT0);
  hp->set_count(6);
  hp->set_sum(12.5);
  hp->set_min(0.1);
  hp->set_max(9);
  for (uint64_t c : {1, 2, 3}) hp->add_bucket_counts(c);
  for (double b : {1.0, 5.0}) hp->add_explicit_bounds(b);
  exemplar(hp);
  auto* exponential = scope->add_metrics();
  exponential->set_name("size");
  auto* ep = exponential->mutable_exponential_histogram()->add_data_points();
  ep->set_time_unix_nano(kT0);
  ep->set_count(5);
  ep->set_scale(-2);
  ep->set_zero_count(1);
  ep->set_zero_threshold(0.001);
  ep->mutable_positive()->set_offset(-3);
  for (uint64_t c : {1, 2}) ep->mutable_positive()->add_bucket_counts(c);
  ep->mutable_negative()->add_bucket_counts(1);
  auto* summary = scope->add_metrics();
  summary->set_name("gc");
  auto* qp = summary->mutable_summary()->add_data_points();
  qp->set_time_unix_nano(kT0);
  qp->set_count(3);
  qp->set_sum(7);
  auto* q = qp->add_quantile_values();
  q->set_quantile(0.5);
  q->set_value(2);
  return r;
}

ingest::v1::BulkBatch Batch(ingest::v1::Signal signal) {
  ingest::v1::BulkBatch batch;
  batch.set_batch_id(fmt::format("gw-1-http-{}", static_cast<int>(signal)));
  batch.set_tenant("acme");
  batch.set_signal(signal);
  if (signal == ingest::v1::SIGNAL_LOGS) *batch.add_resource_logs() = Logs(), *batch.add_resource_logs() = Logs();
  if (signal == ingest::v1::SIGNAL_TRACES) *batch.add_resource_spans() = Spans();
  if (signal == ingest::v1::SIGNAL_METRICS) *batch.add_resource_metrics() = Metrics();
  auto* position = batch.add_positions();
  position->set_topic("otlp-logs");
  position->set_partition(2);
  position->set_first_offset(10);
  position->set_last_offset(20);
  return batch;
}

// OTLP's JSON: protobuf's, with the ids in hex instead of base64.
std::string OtlpJson(const google::protobuf::Message& request) {
  std::string text;
  if (!google::protobuf::util::MessageToJsonString(request, &text).ok()) std::abort();
  nlohmann::json j = nlohmann::json::parse(text);
  auto decode64 = [](const std::string& in) {
    static const std::string kTable = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    uint32_t bits = 0;
    int count = 0;
    for (char c : in) {
      if (c == '=') break;
      bits = bits << 6 | static_cast<uint32_t>(kTable.find(c));
      if ((count += 6) >= 8) out.push_back(static_cast<char>((bits >> (count -= 8)) & 0xff));
    }
    return out;
  };
  std::function<void(nlohmann::json&)> hex_ids = [&](nlohmann::json& node) {
    if (node.is_object()) {
      for (auto& [key, value] : node.items()) {
        if ((key == "traceId" || key == "spanId" || key == "parentSpanId") && value.is_string()) {
          std::string hex;
          for (unsigned char c : decode64(value.get<std::string>())) hex += fmt::format("{:02x}", c);
          value = hex;
        } else {
          hex_ids(value);
        }
      }
    } else if (node.is_array()) {
      for (auto& item : node) hex_ids(item);
    }
  };
  hex_ids(j);
  return j.dump(2) + "\n";
}

class Corpus {
 public:
  explicit Corpus(fs::path root) : root_(std::move(root)) {}
  void Write(const std::string& target, const std::string& name, std::string_view bytes) {
    fs::create_directories(root_ / target);
    std::ofstream out(root_ / target / name, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) std::abort();
    std::printf("%s/%s: %zu bytes\n", target.c_str(), name.c_str(), bytes.size());
  }

 private:
  fs::path root_;
};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void OtlpSeeds(Corpus& corpus) {
  corpus.Write("otlp_wire", "logs", std::string(1, '\0') + Logs().SerializeAsString());
  corpus.Write("otlp_wire", "spans", std::string(1, '\1') + Spans().SerializeAsString());
  corpus.Write("otlp_wire", "metrics", std::string(1, '\2') + Metrics().SerializeAsString());
  for (auto signal : {ingest::v1::SIGNAL_LOGS, ingest::v1::SIGNAL_TRACES, ingest::v1::SIGNAL_METRICS}) {
    corpus.Write("bulk_header", ingest::v1::Signal_Name(signal), Batch(signal).SerializeAsString());
  }
  collector::logs::v1::ExportLogsServiceRequest logs_request;
  *logs_request.add_resource_logs() = Logs();
  collector::trace::v1::ExportTraceServiceRequest spans_request;
  *spans_request.add_resource_spans() = Spans();
  collector::metrics::v1::ExportMetricsServiceRequest metrics_request;
  *metrics_request.add_resource_metrics() = Metrics();
  corpus.Write("otlp_json", "logs.json", OtlpJson(logs_request));
  corpus.Write("otlp_json", "spans.json", OtlpJson(spans_request));
  corpus.Write("otlp_json", "metrics.json", OtlpJson(metrics_request));
}

std::string Compress(std::string_view in, int window_bits) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  std::string out(deflateBound(&z, in.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// Bodies as clients compress them: byte 0 the coding (decompress_fuzz.cc), byte 1 the cap / 256.
void DecompressSeeds(Corpus& corpus) {
  collector::logs::v1::ExportLogsServiceRequest request;
  *request.add_resource_logs() = Logs();
  const std::string body = request.SerializeAsString();
  const std::string big_cap(1, '\xff'), small_cap(1, '\x01');
  std::string zstd(ZSTD_compressBound(body.size()), '\0');
  zstd.resize(ZSTD_compress(zstd.data(), zstd.size(), body.data(), body.size(), 3));
  const std::string gzip = Compress(body, 16 + MAX_WBITS);
  corpus.Write("decompress", "gzip", std::string(1, '\0') + big_cap + gzip);
  corpus.Write("decompress", "gzip-two-members",
               std::string(1, '\0') + big_cap + gzip + Compress("more", 16 + MAX_WBITS));
  corpus.Write("decompress", "gzip-over-the-cap",
               std::string(1, '\0') + small_cap + Compress(std::string(4096, 'a'), 16 + MAX_WBITS));
  corpus.Write("decompress", "deflate", std::string("\1") + big_cap + Compress(body, MAX_WBITS));
  corpus.Write("decompress", "zstd", std::string("\2") + big_cap + zstd);
  corpus.Write("decompress", "identity", std::string("\3") + big_cap + body);
  corpus.Write("decompress", "round-trip", std::string("\7") + big_cap + "\2" + body);
}

// Segments written by the WAL itself: batches, a release, a second segment (small segments).
void WalSeeds(Corpus& corpus, const fs::path& scratch) {
  const fs::path dir = scratch / "wal";
  fs::remove_all(dir);
  wal::WalOptions options;
  options.dir = dir.string();
  options.segment_size_bytes = 2048;
  {
    auto log = wal::Wal::Open(options).ValueOrDie();
    for (auto signal : {ingest::v1::SIGNAL_LOGS, ingest::v1::SIGNAL_TRACES, ingest::v1::SIGNAL_METRICS}) {
      (void)log->Append(Batch(signal).SerializeAsString()).result().ValueOrDie();
    }
    (void)log->Release(2).result().ValueOrDie();
    (void)log->Append("small").result().ValueOrDie();
  }
  std::vector<std::string> segments;
  for (const auto& f : fs::directory_iterator(dir)) {
    if (f.path().extension() == ".log") segments.push_back(f.path().string());
  }
  std::sort(segments.begin(), segments.end());
  std::string raw(1, '\0');
  for (size_t i = 0; i < segments.size(); ++i) raw += (i ? "\nSEG\n" : "") + ReadFile(segments[i]);
  corpus.Write("wal_recovery", "segments", raw);
  corpus.Write("wal_recovery", "first-segment", std::string(1, '\0') + ReadFile(segments.front()));
  corpus.Write("wal_recovery", "torn-tail", raw.substr(0, raw.size() - 3));
  // Mode 1 (entries with valid checksums): SEQUENCE 1, DATA 1..3, RELEASE 2, a new segment,
  // DATA 4, RELEASE 1, DATA with a large sequence number.
  std::string entries(1, '\1');
  auto entry = [&](int kind, uint8_t sequence, std::string_view payload) {
    entries += static_cast<char>(kind);
    entries += static_cast<char>(sequence);
    entries += static_cast<char>(payload.size());
    entries += payload;
  };
  entry(3, 1, "");
  entry(1, 1, "one");
  entry(1, 2, "two");
  entry(1, 3, "three");
  entry(2, 2, "");
  entries += '\0';
  entry(3, 4, "");
  entry(1, 4, "four");
  entry(2, 1, "");
  entries += std::string("\1\xf0", 2) + std::string("\0\0\0\0\0\0\0\x01", 8) + "\4big!";
  corpus.Write("wal_recovery", "entries", entries);
}

// Active files as the storage node writes them: one per signal, and one cut short.
void ActiveFileSeeds(Corpus& corpus, const fs::path& scratch) {
  const std::pair<ingest::Signal, std::string> signals[] = {
      {ingest::Signal::kLogs, "logs"}, {ingest::Signal::kTraces, "traces"}, {ingest::Signal::kMetrics, "metrics"}};
  for (const auto& [signal, name] : signals) {
    ingest::ArrowConverter converter(signal);
    arrow::Status st = signal == ingest::Signal::kLogs     ? converter.Append(Logs())
                       : signal == ingest::Signal::kTraces ? converter.Append(Spans())
                                                           : converter.Append(Metrics());
    if (!st.ok()) std::abort();
    auto batch = converter.Finish().ValueOrDie();
    const std::string path = (scratch / (name + ".arrows")).string();
    {
      auto file = storage::ActiveFile::Create(path, batch->schema()).ValueOrDie();
      if (!file->Append(*batch, "node:wal:1").ok() || !file->Append(*batch->Slice(0, 1), "node:wal:2").ok() ||
          !file->Close().ok()) {
        std::abort();
      }
    }
    const std::string bytes = ReadFile(path);
    corpus.Write("active_file", name, bytes);
    if (signal == ingest::Signal::kLogs) corpus.Write("active_file", "logs-torn", bytes.substr(0, bytes.size() - 40));
  }
}

void ConfigSeeds(Corpus& corpus, const fs::path& source) {
  corpus.Write("config", "openwit.yaml", ReadFile(source / "config/openwit.yaml"));
  corpus.Write("config", "cluster.yaml", ReadFile(source / "config/cluster/openwit.yaml"));
  corpus.Write("config", "seed-grpc-example.yaml", ReadFile(source / "tests/data/seed_grpc_example.yaml"));
  corpus.Write("config", "small.yaml",
               "environment: production\n"
               "grpc:\n  port: ${PORT:-4317}\n  keepalive_time_seconds: 30\n"
               "  accepted_compression_algorithms: [gzip]\n"
               "auth:\n  enabled: true\n  api_keys: [\"acme=${SET}\", \"beta=k2\"]\n"
               "kafka:\n  brokers: \"a:9092,b:9092\"\n  topics: [\"^otlp-.*\"]\n"
               "  topic_tenants: [\"^otlp-a=acme\"]\n"
               "quotas:\n  overrides: [\"acme=100:2000\"]\n"
               "janitor:\n  retention_overrides: [\"acme=7\"]\n");
}

// Query bodies as users and Grafana send them: searches, aggregates, times in both forms, and
// the escapes the engine refuses (search_query_fuzz.cc).
void SearchSeeds(Corpus& corpus) {
  corpus.Write("search_query", "body-search",
               R"j({"sql": "SELECT Timestamp, ServiceName, Body FROM logs WHERE Body ILIKE '%declined%' )j"
               R"j(ORDER BY Timestamp DESC", "limit": 10})j");
  corpus.Write("search_query", "count-by-service",
               R"j({"sql": "SELECT ServiceName, count(*) AS n FROM logs GROUP BY ALL ORDER BY n DESC", )j"
               R"j("start": "2023-11-14T22:00:00Z", "end": 1700010000000000000})j");
  corpus.Write("search_query", "spans-join",
               R"j({"sql": "SELECT s.TraceId, l.Body FROM spans s JOIN logs l ON s.TraceId = l.TraceId", )j"
               R"j("start": "2023-11-14T22:13:20.5+01:00"})j");
  corpus.Write("search_query", "metrics-cte",
               R"j({"sql": "WITH m AS (SELECT * FROM metrics) SELECT MetricName, avg(Value) FROM m GROUP BY 1"})j");
  corpus.Write("search_query", "read-parquet-escape",
               R"j({"sql": "SELECT * FROM read_parquet('lake/tenant=b/signal=logs/**/*.parquet')"})j");
  corpus.Write("search_query", "two-statements", R"j({"sql": "SELECT 1; ATTACH 'x.db'"})j");
  corpus.Write("search_query", "set", R"j({"sql": "SET enable_external_access = true"})j");
}

// TraceQL as Grafana's Tempo search builder and users write it, and what the subset refuses
// (traceql_fuzz.cc).
void TraceQlSeeds(Corpus& corpus) {
  corpus.Write("traceql", "builder",
               R"q({resource.service.name="checkout" && span.http.status_code>=500 && )q"
               R"q(duration>100ms && status=error})q");
  corpus.Write("traceql", "empty", "{}");
  corpus.Write("traceql", "regex-kind", R"q({ name =~ "GET /api/.*" && kind = server || .retry = true })q");
  corpus.Write("traceql", "spansets", R"q({.service.name = `a'b`} && {span:duration > 1.5s} || {.x != nil})q");
  corpus.Write("traceql", "nested", R"q({ !((.a = 1 || .b < -2.5e3) && (statusMessage != "x\"y")) })q");
  corpus.Write("traceql", "pipeline", R"q({ status = error } | count() > 2)q");
  corpus.Write("traceql", "structural", R"q({ kind = server } >> { name = "db" })q");
}

// LogQL as Grafana's Loki data source sends it: Explore's log query, the logs volume and the
// health check, a filter of each kind, and what the subset refuses (logql_fuzz.cc).
void LogqlSeeds(Corpus& corpus) {
  corpus.Write("logql", "explore", R"({service_name="checkout"} |= ``)");
  corpus.Write("logql", "volume",
               R"(sum by (level, detected_level) (count_over_time({service_name="checkout"} | drop __error__[1m])))");
  corpus.Write("logql", "health", "vector(1)+vector(1)");
  corpus.Write("logql", "filters",
               R"({service_name=~"check.*", level!="debug", k8s_pod_name!~"x|y"} |= "pay" != "ok" |~ "c(a|b)rd" )"
               R"(!~ `\d+ms` | http_route="/pay" | retry >= 2, method != "GET")");
  corpus.Write("logql", "rate", R"(sum(rate({level="error"}[5m])) by (service_name) * 60)");
  corpus.Write("logql", "range-first", R"(count_over_time({service_name="a"}[1h30m] |= "x"))");
  corpus.Write("logql", "nested", R"(sum(sum by (level) (count_over_time({a="b"}[10s]))))");
  corpus.Write("logql", "unsupported-json", R"({service_name="checkout"} | json | status="500")");
  corpus.Write("logql", "bad-regex", R"({service_name=~"("} |~ "[")");
  corpus.Write("logql", "multiline", "{a=\"b\"}\n  |= \"c\"\n  | d=\"e\"");
}

}  // namespace
}  // namespace openwit::fuzz

int main(int argc, char** argv) {
  using namespace openwit::fuzz;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s SOURCE_DIR\n", argv[0]);
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  const fs::path source = argv[1];
  const fs::path scratch = fs::temp_directory_path() / "openwit-fuzz-seeds";
  fs::remove_all(scratch);
  fs::create_directories(scratch);
  Corpus corpus(source / "tests/fuzz/corpus");
  OtlpSeeds(corpus);
  DecompressSeeds(corpus);
  WalSeeds(corpus, scratch);
  ActiveFileSeeds(corpus, scratch);
  ConfigSeeds(corpus, source);
  SearchSeeds(corpus);
  TraceQlSeeds(corpus);
  LogqlSeeds(corpus);
  fs::remove_all(scratch);
  return 0;
}
