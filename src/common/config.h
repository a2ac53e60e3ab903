#pragma once
// OpenWit's configuration: every key lives in exactly one struct below, with its default, its
// validation (FieldSpec) and its doc line. Loading, `openwit config check`, the effective-config
// printer and the README reference table all walk the same Visit() functions, so a key cannot exist
// in one place and be missing from another.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/result.h>

#include "common/config_overrides.h"

namespace openwit {

// Validation and documentation of one key.
struct FieldSpec {
  const char* doc = "";
  std::optional<double> min = std::nullopt;  // inclusive, numbers only
  std::optional<double> max = std::nullopt;  // inclusive, numbers only
  std::vector<std::string> one_of = {};      // allowed values (strings, and each item of a list)
  bool secret = false;                       // masked when the effective config is printed
};

// TLS of one listener. The files are looked at again every reload_interval_seconds: a renewed
// certificate serves new connections without a restart.
struct TlsConfig {
  bool enabled = false;
  std::string cert_path;
  std::string key_path;
  int64_t reload_interval_seconds = 60;

  template <class V>
  void Visit(V& v) {
    v.Field("enabled", enabled,
            {.doc = "Serve TLS. Off while environment is production is a loud warning on listeners that carry "
                    "credentials."});
    v.Field("cert_path", cert_path, {.doc = "PEM certificate chain; required when enabled."});
    v.Field("key_path", key_path, {.doc = "PEM private key; required when enabled. Keep it a secret."});
    v.Field("reload_interval_seconds", reload_interval_seconds,
            {.doc = "How often cert_path and key_path are read again; a changed pair serves new connections, no "
                    "restart.",
             .min = 1,
             .max = 86400});
  }
};

// The OTLP/gRPC receiver of the gateway (grpc-ingestion.txt sections 3-4; the seeds' example is
// accepted verbatim).
struct GrpcReceiverConfig {
  std::string bind = "127.0.0.1";
  int64_t port = 4317;
  std::string bind_addr;  // "host:port"; when set it must agree with bind and port
  int64_t runtime_size = 2;
  int64_t max_concurrent_requests = 10000;
  int64_t request_timeout_ms = 30000;
  int64_t connection_pool_size = 100;
  int64_t max_message_size = 64 << 20;
  int64_t max_receive_message_size_mb = 64;
  int64_t max_send_message_size_mb = 64;
  int64_t keepalive_time_ms = 60000;
  int64_t keepalive_timeout_ms = 20000;
  int64_t keepalive_time_seconds = 60;
  int64_t keepalive_timeout_seconds = 20;
  int64_t max_connection_idle_seconds = 300;
  int64_t max_connection_age_seconds = 0;
  int64_t max_connection_age_grace_seconds = 10;
  bool otlp_traces_enabled = true;
  bool otlp_metrics_enabled = true;
  bool otlp_logs_enabled = true;
  int64_t worker_threads = 2;
  int64_t max_concurrent_streams = 1000;
  bool compression_enabled = true;
  std::vector<std::string> accepted_compression_algorithms = {"gzip", "zstd"};
  TlsConfig tls;

  // The largest message this receiver takes: the smaller of the two size keys.
  int64_t MaxReceiveBytes() const;

  template <class V>
  void Visit(V& v) {
    v.Field("bind", bind, {.doc = "Address the OTLP/gRPC receiver listens on."});
    v.Field("port", port, {.doc = "OTLP/gRPC port (OpenTelemetry's default 4317).", .min = 0, .max = 65535});
    v.Field("bind_addr", bind_addr, {.doc = "host:port form of bind and port; must agree with them."});
    v.Field("runtime_size", runtime_size, {.doc = "Threads of the gRPC runtime.", .min = 1, .max = 256});
    v.Field("max_concurrent_requests", max_concurrent_requests,
            {.doc = "Requests in progress at once; more wait for a slot.", .min = 1, .max = 1000000});
    v.Field("request_timeout_ms", request_timeout_ms,
            {.doc = "Deadline of one Export call, ack included.", .min = 1, .max = 3600000});
    v.Field("connection_pool_size", connection_pool_size,
            {.doc = "Client connections kept to each upstream node.", .min = 1, .max = 10000});
    v.Field("max_message_size", max_message_size,
            {.doc = "Largest message in bytes (the smaller of this and max_receive_message_size_mb wins).",
             .min = 1024,
             .max = 2147483647});
    v.Field("max_receive_message_size_mb", max_receive_message_size_mb,
            {.doc = "Largest request in MiB. Large values raise memory use and DoS risk.", .min = 1, .max = 2047});
    v.Field("max_send_message_size_mb", max_send_message_size_mb,
            {.doc = "Largest response in MiB.", .min = 1, .max = 2047});
    v.Field("keepalive_time_ms", keepalive_time_ms,
            {.doc = "Ping an idle connection after this many ms.", .min = 1000, .max = 86400000});
    v.Field("keepalive_timeout_ms", keepalive_timeout_ms,
            {.doc = "Close the connection when a ping is unanswered this long.", .min = 100, .max = 3600000});
    v.Field("keepalive_time_seconds", keepalive_time_seconds,
            {.doc = "keepalive_time_ms in seconds; when both are set they must agree.", .min = 1, .max = 86400});
    v.Field("keepalive_timeout_seconds", keepalive_timeout_seconds,
            {.doc = "keepalive_timeout_ms in seconds; when both are set they must agree.", .min = 1, .max = 3600});
    v.Field("max_connection_idle_seconds", max_connection_idle_seconds,
            {.doc = "Close connections idle this long (0: never).", .min = 0, .max = 604800});
    v.Field("max_connection_age_seconds", max_connection_age_seconds,
            {.doc = "Recycle connections after this age (0: never).", .min = 0, .max = 604800});
    v.Field("max_connection_age_grace_seconds", max_connection_age_grace_seconds,
            {.doc = "Time given to calls in flight on a recycled connection.", .min = 0, .max = 3600});
    v.Field("otlp_traces_enabled", otlp_traces_enabled, {.doc = "Accept OTLP traces (else UNIMPLEMENTED)."});
    v.Field("otlp_metrics_enabled", otlp_metrics_enabled, {.doc = "Accept OTLP metrics (else UNIMPLEMENTED)."});
    v.Field("otlp_logs_enabled", otlp_logs_enabled, {.doc = "Accept OTLP logs (else UNIMPLEMENTED)."});
    v.Field("worker_threads", worker_threads,
            {.doc = "Threads that decode and validate requests.", .min = 1, .max = 256});
    v.Field("max_concurrent_streams", max_concurrent_streams,
            {.doc = "HTTP/2 streams per connection.", .min = 1, .max = 1000000});
    v.Field("compression_enabled", compression_enabled, {.doc = "Accept compressed requests."});
    v.Field("accepted_compression_algorithms", accepted_compression_algorithms,
            {.doc = "Request compressions accepted.", .one_of = {"gzip", "zstd", "deflate"}});
    v.Section("tls", tls, "TLS of the OTLP/gRPC receiver.");
  }
};

struct UpstreamPoolConfig {
  int64_t pool_max_idle_per_host = 32;
  int64_t pool_idle_timeout_seconds = 90;
  int64_t connect_timeout_ms = 5000;
  int64_t request_timeout_ms = 30000;

  template <class V>
  void Visit(V& v) {
    v.Field("pool_max_idle_per_host", pool_max_idle_per_host,
            {.doc = "Idle connections kept to each ingest node.", .min = 0, .max = 10000});
    v.Field("pool_idle_timeout_seconds", pool_idle_timeout_seconds,
            {.doc = "Close an idle upstream connection after this long.", .min = 1, .max = 86400});
    v.Field("connect_timeout_ms", connect_timeout_ms,
            {.doc = "Give up connecting to an ingest node after this long.", .min = 1, .max = 600000});
    v.Field("request_timeout_ms", request_timeout_ms,
            {.doc = "Deadline of one forwarded batch, ack included.", .min = 1, .max = 3600000});
  }
};

// The OTLP/HTTP receiver of the gateway (ingestion-architecture.txt, "HTTP ingestion").
struct HttpReceiverConfig {
  std::string bind = "127.0.0.1";
  int64_t port = 4318;
  int64_t max_concurrent_requests = 256;
  int64_t request_timeout_ms = 30000;
  int64_t max_payload_size_mb = 16;
  UpstreamPoolConfig upstream;
  TlsConfig tls;

  template <class V>
  void Visit(V& v) {
    v.Field("bind", bind, {.doc = "Address the OTLP/HTTP receiver listens on."});
    v.Field("port", port, {.doc = "OTLP/HTTP port (OpenTelemetry's default 4318).", .min = 0, .max = 65535});
    v.Field("max_concurrent_requests", max_concurrent_requests,
            {.doc = "Requests in progress at once; more get 429.", .min = 1, .max = 100000});
    v.Field("request_timeout_ms", request_timeout_ms,
            {.doc = "Deadline of one request, ack included.", .min = 1, .max = 3600000});
    v.Field("max_payload_size_mb", max_payload_size_mb,
            {.doc = "Largest request body in MiB (413 above).", .min = 1, .max = 2047});
    v.Section("upstream", upstream, "Connections from the HTTP receiver to ingest nodes.");
    v.Section("tls", tls, "TLS (HTTPS) of the OTLP/HTTP receiver.");
  }
};

struct SourceToggle {
  bool enabled = false;
  template <class V>
  void Visit(V& v) {
    v.Field("enabled", enabled, {.doc = "Run this source in the gateway."});
  }
};

struct SourcesConfig {
  SourceToggle kafka{false};
  SourceToggle grpc{true};
  SourceToggle http{true};
  template <class V>
  void Visit(V& v) {
    v.Section("kafka", kafka, "Kafka source (settings in the kafka block).");
    v.Section("grpc", grpc, "OTLP/gRPC source (settings in the grpc block).");
    v.Section("http", http, "OTLP/HTTP source (settings in the http block).");
  }
};

struct BatchingConfig {
  int64_t batch_size = 1000;
  int64_t batch_timeout_ms = 100;
  int64_t expected_event_size_bytes = 512;
  int64_t max_in_flight = 4;
  template <class V>
  void Visit(V& v) {
    v.Field("batch_size", batch_size, {.doc = "Records per batch sent to an ingest node.", .min = 1, .max = 10000000});
    v.Field("batch_timeout_ms", batch_timeout_ms,
            {.doc = "Send a partial batch after this long.", .min = 1, .max = 600000});
    v.Field("max_in_flight", max_in_flight,
            {.doc = "Batches of one tenant and signal sent and not yet acked; while that many are out, requests "
                    "merge into the next batch. More lets ingest nodes (and their cores) work on several at once.",
             .min = 1,
             .max = 1024});
    v.Field("expected_event_size_bytes", expected_event_size_bytes,
            {.doc = "Average record size, for the batch-size guardrail.", .min = 16, .max = 67108864});
  }
};

struct IngestionConfig {
  SourcesConfig sources;
  BatchingConfig batching;
  template <class V>
  void Visit(V& v) {
    v.Section("sources", sources, "Which sources the gateway runs.");
    v.Section("batching", batching, "Gateway batching before the bulk call to ingest.");
  }
};

struct ProxyHttpConfig {
  int64_t max_payload_size_mb = 16;
  template <class V>
  void Visit(V& v) {
    v.Field("max_payload_size_mb", max_payload_size_mb,
            {.doc = "Gateway-wide cap on HTTP bodies in MiB (the smaller of this and http's wins).",
             .min = 1,
             .max = 2047});
  }
};

struct ProxyGrpcConfig {
  int64_t max_concurrent_streams = 1000;
  template <class V>
  void Visit(V& v) {
    v.Field("max_concurrent_streams", max_concurrent_streams,
            {.doc = "Gateway-wide cap on gRPC streams per connection (the smaller wins).", .min = 1, .max = 1000000});
  }
};

struct ProxyConfig {
  ProxyHttpConfig http;
  ProxyGrpcConfig grpc;
  template <class V>
  void Visit(V& v) {
    v.Section("http", http, "Caps on the gateway's HTTP side.");
    v.Section("grpc", grpc, "Caps on the gateway's gRPC side.");
  }
};

struct BufferConfig {
  int64_t max_size_messages = 1000000;
  int64_t max_size_bytes = 512ll << 20;
  int64_t flush_interval_seconds = 1;
  template <class V>
  void Visit(V& v) {
    v.Field("max_size_messages", max_size_messages,
            {.doc = "Records buffered in the ingest node before RESOURCE_EXHAUSTED.", .min = 1, .max = 1e10});
    v.Field("max_size_bytes", max_size_bytes,
            {.doc = "Bytes buffered in the ingest node before RESOURCE_EXHAUSTED.", .min = 1024, .max = 1e13});
    v.Field("flush_interval_seconds", flush_interval_seconds,
            {.doc = "Flush the buffer to Arrow at least this often.", .min = 0, .max = 3600});
  }
};

struct WalConfig {
  std::string dir = "./data/wal";
  bool sync_on_write = true;
  int64_t segment_size_mb = 64;
  int64_t long_term_retention_hours = 168;
  template <class V>
  void Visit(V& v) {
    v.Field("dir", dir, {.doc = "Directory of the short- and long-term WAL. Put it on a durable disk."});
    v.Field("sync_on_write", sync_on_write,
            {.doc = "fsync (group-committed) before the ack. false trades durability for speed."});
    v.Field("segment_size_mb", segment_size_mb, {.doc = "Size of a WAL segment in MiB.", .min = 1, .max = 4096});
    v.Field("long_term_retention_hours", long_term_retention_hours,
            {.doc = "How long the long-term WAL keeps entries for replay and indexing.", .min = 0, .max = 87600});
  }
};

struct ProcessingConfig {
  BufferConfig buffer;
  int64_t flush_size_messages = 10000;
  bool dedup_enabled = true;
  int64_t dedup_window_seconds = 300;
  int64_t dedup_max_entries = 4000000;
  WalConfig wal;
  template <class V>
  void Visit(V& v) {
    v.Section("buffer", buffer, "Ingest buffer ceilings.");
    v.Field("flush_size_messages", flush_size_messages,
            {.doc = "Flush the buffer to Arrow when it holds this many records.", .min = 1, .max = 1e9});
    v.Field("dedup_enabled", dedup_enabled, {.doc = "Drop records already seen inside the window."});
    v.Field("dedup_window_seconds", dedup_window_seconds,
            {.doc = "How long a dedup key is remembered.", .min = 1, .max = 604800});
    v.Field("dedup_max_entries", dedup_max_entries,
            {.doc = "Memory bound of the dedup window in keys.", .min = 1000, .max = 1e9});
    v.Section("wal", wal, "Write-ahead logs of the ingest node.");
  }
};

struct KafkaHighPerformanceConfig {
  int64_t num_consumers = 2;
  int64_t processing_threads = 2;
  int64_t num_grpc_clients = 2;
  int64_t channel_buffer_size = 10000;
  template <class V>
  void Visit(V& v) {
    v.Field("num_consumers", num_consumers,
            {.doc = "Parallel consumer threads; they only poll and hand messages over.", .min = 1, .max = 256});
    v.Field("processing_threads", processing_threads,
            {.doc = "Threads decoding, validating and batching messages; a partition always uses the same one.",
             .min = 1,
             .max = 256});
    v.Field("num_grpc_clients", num_grpc_clients,
            {.doc = "gRPC clients with their own connections to ingest.endpoints (a gateway without the ingest role).",
             .min = 1,
             .max = 256});
    v.Field("channel_buffer_size", channel_buffer_size,
            {.doc = "Messages queued before each processing thread; a full queue blocks the consumers (backpressure).",
             .min = 1,
             .max = 10000000});
  }
};

// The Kafka source (ingestion-architecture.txt, "Kafka ingestion").
struct KafkaConfig {
  std::vector<std::string> brokers;
  std::string group_id = "openwit";
  std::vector<std::string> topics;
  std::string consumer_type = "standard";
  KafkaHighPerformanceConfig high_performance;
  int64_t fetch_min_bytes = 1;
  int64_t fetch_max_bytes = 52428800;
  int64_t max_partition_fetch_bytes = 1048576;
  bool enable_zero_copy = false;
  bool preallocate_buffers = false;
  int64_t buffer_pool_size = 64;
  int64_t batch_size = 1000;
  int64_t batch_timeout_ms = 1000;
  std::string telemetry_type = "auto";
  int64_t session_timeout_ms = 45000;
  std::vector<std::string> topic_tenants;
  template <class V>
  void Visit(V& v) {
    v.Field("brokers", brokers, {.doc = "Bootstrap brokers: a list or \"host:port,host:port\"."});
    v.Field("group_id", group_id, {.doc = "Consumer group."});
    v.Field("topics", topics, {.doc = "Topics or patterns (\"^otlp-.*\")."});
    v.Field("consumer_type", consumer_type, {.doc = "Consumer profile.", .one_of = {"standard", "high_performance"}});
    v.Section("high_performance", high_performance, "Parallelism of the high-performance consumer.");
    v.Field("fetch_min_bytes", fetch_min_bytes, {.doc = "librdkafka fetch.min.bytes.", .min = 1, .max = 1e9});
    v.Field("fetch_max_bytes", fetch_max_bytes, {.doc = "librdkafka fetch.max.bytes.", .min = 1024, .max = 2147483135});
    v.Field("max_partition_fetch_bytes", max_partition_fetch_bytes,
            {.doc = "librdkafka max.partition.fetch.bytes.", .min = 1024, .max = 2147483135});
    v.Field("enable_zero_copy", enable_zero_copy,
            {.doc = "Parse messages in librdkafka's buffers. Always done: the setting changes nothing."});
    v.Field("preallocate_buffers", preallocate_buffers,
            {.doc = "Accepted for compatibility; no effect (batches are built by moving the decoded records)."});
    v.Field("buffer_pool_size", buffer_pool_size,
            {.doc = "Accepted for compatibility; no effect (see preallocate_buffers).", .min = 0, .max = 100000});
    v.Field("batch_size", batch_size, {.doc = "Records per batch from Kafka.", .min = 1, .max = 10000000});
    v.Field("batch_timeout_ms", batch_timeout_ms,
            {.doc = "Send a partial Kafka batch after this long.", .min = 1, .max = 600000});
    v.Field(
        "telemetry_type", telemetry_type,
        {.doc = "Signal of the messages; auto: from the topic name.", .one_of = {"auto", "logs", "traces", "metrics"}});
    v.Field("session_timeout_ms", session_timeout_ms,
            {.doc = "Group session timeout: how soon a dead consumer's partitions move (the broker bounds it).",
             .min = 1000,
             .max = 3600000});
    v.Field("topic_tenants", topic_tenants,
            {.doc = "\"TOPIC=tenant\" or \"^PATTERN=tenant\" entries: the tenant of a topic's records, first match "
                    "wins (a ^pattern is a regular expression searched in the name, as kafka.topics has it); topics "
                    "matching none go to auth.default_tenant."});
  }
};

// One listening address of an internal service.
struct ListenConfig {
  std::string bind = "127.0.0.1";
  int64_t port = 0;
  template <class V>
  void Visit(V& v) {
    v.Field("bind", bind, {.doc = "Listen address."});
    v.Field("port", port, {.doc = "Listen port (0: any free port).", .min = 0, .max = 65535});
  }
};

// One HTTP listener (the admin endpoints): where it listens and its TLS.
struct HttpListenConfig {
  std::string bind = "127.0.0.1";
  int64_t port = 0;
  TlsConfig tls;
  template <class V>
  void Visit(V& v) {
    v.Field("bind", bind, {.doc = "Listen address."});
    v.Field("port", port, {.doc = "Listen port (0: any free port).", .min = 0, .max = 65535});
    v.Section("tls", tls, "TLS (HTTPS) of this listener.");
  }
};

// Who may call the internal ports (ingest.listen, storage.flight, control.listen): the cluster's
// own nodes, proven by one shared token (common/cluster_token.h).
inline constexpr size_t kMinClusterTokenLength = 16;
struct ClusterConfig {
  std::string token;
  std::string token_file;
  template <class V>
  void Visit(V& v) {
    v.Field("token", token,
            {.doc = "Shared secret of the cluster (at least 16 characters, the same in every process): every "
                    "internal call carries it and every internal port (bulk ingest, Flight, control) refuses a call "
                    "without it (UNAUTHENTICATED). Unset, with token_file unset: a random token per process, so "
                    "its internal ports take calls from itself only (enough for `openwit all`).",
             .secret = true});
    v.Field("token_file", token_file,
            {.doc = "File whose first line is the cluster token, read at start: keeps the secret out of the YAML. "
                    "Set token or token_file, not both."});
  }
};

// The search role: its HTTP API (where it listens, its TLS) and the bounds of each query
// (DESIGN.md, "Search engine").
struct SearchConfig {
  std::string bind = "127.0.0.1";
  int64_t port = 7280;
  TlsConfig tls;
  int64_t query_timeout_ms = 30000;
  int64_t memory_limit_mb = 512;
  int64_t max_result_rows = 10000;
  int64_t max_concurrent_queries = 4;
  int64_t threads = 1;
  int64_t freshness_seconds = 5;
  int64_t cache_max_mb = 2048;
  int64_t cached_databases = 4;
  template <class V>
  void Visit(V& v) {
    v.Field("bind", bind, {.doc = "Listen address of the search HTTP API."});
    v.Field("port", port, {.doc = "Search HTTP API port (0: any free port).", .min = 0, .max = 65535});
    v.Section("tls", tls, "TLS (HTTPS) of this listener.");
    v.Field("query_timeout_ms", query_timeout_ms,
            {.doc = "A query running longer is stopped and answered 408.", .min = 1, .max = 3600000});
    v.Field("memory_limit_mb", memory_limit_mb,
            {.doc = "DuckDB memory of one tenant's queries in MiB (no spilling to disk): those running at once share "
                    "it, and DuckDB's cache of the Parquet it read lives in it; past it a query fails with 422.",
             .min = 16,
             .max = 1048576});
    v.Field("max_result_rows", max_result_rows,
            {.doc = "Rows one query returns at most; more are cut and the answer says truncated.",
             .min = 1,
             .max = 100000000});
    v.Field("max_concurrent_queries", max_concurrent_queries,
            {.doc = "Queries running at once on this node; more are answered 503 with Retry-After.",
             .min = 1,
             .max = 1024});
    v.Field(
        "threads", threads,
        {.doc = "DuckDB threads of one tenant's queries (DuckDB shares the cores with ingest).", .min = 1, .max = 256});
    v.Field("cached_databases", cached_databases,
            {.doc = "Tenants whose DuckDB database stays open between their queries (opening one takes ~20 ms; "
                    "each holds up to memory_limit_mb of cache, and closes after 60 s unused). 0: every query "
                    "opens a database of its own.",
             .min = 0,
             .max = 1024});
    v.Field("freshness_seconds", freshness_seconds,
            {.doc = "A record is searchable at most this long after its ack, before its file is published: each "
                    "query asks the storage nodes (storage.endpoints) for what they have not published yet. 0: "
                    "published files only (up to storage.rotation_max_file_age_seconds behind).",
             .min = 0,
             .max = 3600});
    v.Field("cache_max_mb", cache_max_mb,
            {.doc = "With a lake in an object store (s3://, gs://): MiB of lake files kept on local disk "
                    "(<node.data_dir>/search/cache) for queries to read; the least recently used go first. A query "
                    "whose files do not fit beside those of running queries fails with 422. Unused for a local lake.",
             .min = 16,
             .max = 16777216});
  }
};

struct NodeConfig {
  std::string id = "openwit-1";
  std::string data_dir = "./data";
  std::string log_level = "info";
  template <class V>
  void Visit(V& v) {
    v.Field("id", id, {.doc = "Name of this node in the cluster."});
    v.Field("data_dir", data_dir, {.doc = "Root of this node's local state."});
    v.Field("log_level", log_level, {.doc = "Log verbosity.", .one_of = {"trace", "debug", "info", "warn", "error"}});
  }
};

struct IngestNodeConfig {
  ListenConfig listen{"127.0.0.1", 7001};
  std::vector<std::string> endpoints;
  template <class V>
  void Visit(V& v) {
    v.Section("listen", listen, "Bulk ingest gRPC service (gateway -> ingest).");
    v.Field("endpoints", endpoints, {.doc = "Ingest nodes a gateway sends to (host:port); empty: this process."});
  }
};

struct ObjectStoreConfig {
  std::string uri = "./data/lake";
  std::string endpoint_override;
  std::string region = "us-east-1";
  std::string access_key_id;
  std::string secret_access_key;
  template <class V>
  void Visit(V& v) {
    v.Field("uri", uri, {.doc = "Where stable Parquet goes: a local path, s3://bucket/prefix or gs://bucket/prefix."});
    v.Field("endpoint_override", endpoint_override, {.doc = "S3-compatible endpoint (MinIO), host:port."});
    v.Field("region", region, {.doc = "S3 region."});
    v.Field("access_key_id", access_key_id, {.doc = "S3 access key.", .secret = true});
    v.Field("secret_access_key", secret_access_key, {.doc = "S3 secret key.", .secret = true});
  }
};

struct StorageNodeConfig {
  ListenConfig flight{"127.0.0.1", 7002};
  std::vector<std::string> endpoints;
  std::string local_dir = "./data/storage";
  int64_t rotation_max_file_size_mb = 256;
  int64_t rotation_max_file_age_seconds = 300;
  bool delete_local_after_upload = true;
  ObjectStoreConfig object_store;
  template <class V>
  void Visit(V& v) {
    v.Section("flight", flight, "Arrow Flight server (ingest -> storage).");
    v.Field("endpoints", endpoints,
            {.doc = "Storage nodes an ingest node sends to and the search role asks for records not published yet "
                    "(host:port); empty: this process."});
    v.Field("local_dir", local_dir, {.doc = "Active and stable Parquet before upload."});
    v.Field("rotation_max_file_size_mb", rotation_max_file_size_mb,
            {.doc = "Finalize an active file at this size.", .min = 1, .max = 65536});
    v.Field("rotation_max_file_age_seconds", rotation_max_file_age_seconds,
            {.doc = "Finalize an active file at this age.", .min = 1, .max = 86400});
    v.Field("delete_local_after_upload", delete_local_after_upload,
            {.doc = "Remove the local copy once the upload is verified."});
    v.Section("object_store", object_store, "The lake.");
  }
};

struct MetastoreConfig {
  std::string type = "sqlite";
  std::string sqlite_path = "./data/metastore.sqlite";
  std::string postgres_dsn;
  template <class V>
  void Visit(V& v) {
    v.Field("type", type, {.doc = "Metastore implementation.", .one_of = {"sqlite", "postgres"}});
    v.Field("sqlite_path", sqlite_path, {.doc = "SQLite database file (type sqlite)."});
    v.Field("postgres_dsn", postgres_dsn, {.doc = "libpq connection string (type postgres).", .secret = true});
  }
};

struct ControlConfig {
  ListenConfig listen{"127.0.0.1", 7000};
  std::string endpoint;
  int64_t heartbeat_interval_ms = 2000;
  int64_t node_timeout_ms = 10000;
  template <class V>
  void Visit(V& v) {
    v.Section("listen", listen, "Control-plane gRPC service.");
    v.Field("endpoint", endpoint, {.doc = "Control node other roles register with; empty: this process."});
    v.Field("heartbeat_interval_ms", heartbeat_interval_ms,
            {.doc = "How often a node heartbeats.", .min = 100, .max = 600000});
    v.Field("node_timeout_ms", node_timeout_ms,
            {.doc = "A node missing heartbeats this long is unhealthy.", .min = 200, .max = 3600000});
  }
};

// Who may send, as which tenant (gateway). Keys come from `api_keys` and from `keys_file`, which
// is read again when it changes.
struct AuthConfig {
  bool enabled = false;
  std::vector<std::string> api_keys;
  std::string keys_file;
  std::string default_tenant = "default";
  template <class V>
  void Visit(V& v) {
    v.Field("enabled", enabled,
            {.doc = "Require an API key (Authorization: Bearer KEY or x-api-key: KEY); else 401/UNAUTHENTICATED."});
    v.Field("api_keys", api_keys, {.doc = "\"tenant=key\" entries (use ${ENV} for the keys).", .secret = true});
    v.Field("keys_file", keys_file,
            {.doc = "File of \"tenant=key\" lines, reloaded when it changes. A tenant is 1-128 letters, digits, "
                    "'-', '_' or '.' (it names a folder of the lake); other lines are ignored with a warning."});
    v.Field("default_tenant", default_tenant, {.doc = "Tenant of every request while auth is off."});
  }
};

// Per-tenant rate limits at the gateway (0: unlimited); above them RESOURCE_EXHAUSTED/429.
struct QuotaConfig {
  int64_t records_per_second = 0;
  int64_t bytes_per_second = 0;
  std::vector<std::string> overrides;
  template <class V>
  void Visit(V& v) {
    v.Field("records_per_second", records_per_second,
            {.doc = "Records a second per tenant (bursts up to one second's worth).", .min = 0, .max = 1e12});
    v.Field("bytes_per_second", bytes_per_second, {.doc = "Request bytes a second per tenant.", .min = 0, .max = 1e15});
    v.Field("overrides", overrides,
            {.doc = "\"tenant=RECORDS:BYTES\" entries replacing the two limits for one tenant."});
  }
};

struct JanitorConfig {
  int64_t interval_seconds = 300;
  int64_t retention_days = 30;
  std::vector<std::string> retention_overrides;
  template <class V>
  void Visit(V& v) {
    v.Field("interval_seconds", interval_seconds, {.doc = "Time between janitor passes.", .min = 1, .max = 86400});
    v.Field(
        "retention_days", retention_days,
        {.doc = "Delete lake files whose newest row is older than this (0: keep forever).", .min = 0, .max = 36500});
    v.Field("retention_overrides", retention_overrides,
            {.doc = "\"tenant=DAYS\" entries replacing retention_days for one tenant (0: keep forever)."});
  }
};

struct Config {
  std::string environment = "development";
  NodeConfig node;
  ClusterConfig cluster;
  HttpListenConfig admin{"127.0.0.1", 7290, {}};
  GrpcReceiverConfig grpc;
  HttpReceiverConfig http;
  IngestionConfig ingestion;
  ProxyConfig proxy;
  ProcessingConfig processing;
  KafkaConfig kafka;
  IngestNodeConfig ingest;
  StorageNodeConfig storage;
  MetastoreConfig metastore;
  SearchConfig search;
  ControlConfig control;
  JanitorConfig janitor;
  AuthConfig auth;
  QuotaConfig quotas;

  template <class V>
  void Visit(V& v) {
    v.Field("environment", environment,
            {.doc = "Deployment kind; production turns risky settings into loud warnings.",
             .one_of = {"development", "staging", "production"}});
    v.Section("node", node, "This process.");
    v.Section("cluster", cluster, "Who may call the internal ports: the cluster's own nodes.");
    v.Section("admin", admin, "/metrics and /health of this process.");
    v.Section("grpc", grpc, "OTLP/gRPC receiver (gateway).");
    v.Section("http", http, "OTLP/HTTP receiver (gateway).");
    v.Section("ingestion", ingestion, "Gateway sources and batching.");
    v.Section("proxy", proxy, "Gateway-wide caps.");
    v.Section("processing", processing, "Ingest node: buffer, dedup, WAL.");
    v.Section("kafka", kafka, "Kafka source.");
    v.Section("ingest", ingest, "Ingest node service.");
    v.Section("storage", storage, "Storage node: Flight in, Parquet out.");
    v.Section("metastore", metastore, "Where file metadata lives.");
    v.Section("search", search, "Search role: SQL API and query bounds.");
    v.Section("control", control, "Control plane.");
    v.Section("janitor", janitor, "Janitor role.");
    v.Section("auth", auth, "Gateway authentication and tenants.");
    v.Section("quotas", quotas, "Gateway per-tenant rate limits.");
  }
};

// Looks up an environment variable for ${VAR} substitution; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
std::optional<std::string> ProcessEnv(const std::string& name);

struct LoadedConfig {
  Config config;
  std::vector<std::string> warnings;
  std::map<std::string, int> lines;  // key path -> 1-based line, for keys the file set
};

// Parses and validates. On failure the Status message lists every problem, one per line, each
// naming the key path and the line.
arrow::Result<LoadedConfig> LoadConfigString(std::string_view yaml, std::string_view source_name,
                                             const EnvLookup& env = ProcessEnv);
arrow::Result<LoadedConfig> LoadConfigFile(const std::string& path, const EnvLookup& env = ProcessEnv);

// 127.0.0.0/8, ::1 or localhost: an address other machines cannot reach.
bool IsLoopbackAddress(std::string_view address);

// The cluster token on the first line of `path` (blanks around it dropped), at least
// kMinClusterTokenLength characters.
arrow::Result<std::string> ClusterTokenFromFile(const std::string& path);

// The effective configuration as YAML (secrets masked).
std::string EffectiveConfigYaml(const Config& config);

// The reference table of every key (markdown), as README.md shows it.
std::string ConfigReferenceMarkdown();

}  // namespace openwit
