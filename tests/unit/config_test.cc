#include "common/config.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace openwit {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::optional<std::string> NoEnv(const std::string&) { return std::nullopt; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The gRPC receiver example of grpc-ingestion.txt section 4, verbatim (tests/data keeps a copy so
// that the test runs without ../shared; SeedCopyIsVerbatim checks the copy when ../shared is there).
std::string SeedGrpcExample() {
  return ReadFile(std::string(OPENWIT_SOURCE_DIR) + "/tests/data/seed_grpc_example.yaml");
}

arrow::Result<LoadedConfig> Load(const std::string& yaml, const EnvLookup& env = NoEnv) {
  return LoadConfigString(yaml, "test.yaml", env);
}

TEST(ConfigTest, EmptyFileGivesDefaults) {
  auto loaded = Load("");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config.grpc.port, 4317);
  EXPECT_EQ(loaded->config.http.port, 4318);
  EXPECT_TRUE(loaded->config.processing.wal.sync_on_write);
  EXPECT_TRUE(loaded->warnings.empty());
}

TEST(ConfigTest, AcceptsTheSeedGrpcExampleVerbatim) {
  std::string example = SeedGrpcExample();
  ASSERT_THAT(example, HasSubstr("accepted_compression_algorithms"));
  auto loaded = Load(example);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const auto& g = loaded->config.grpc;
  EXPECT_EQ(g.bind, "0.0.0.0");
  EXPECT_EQ(g.port, 50051);
  EXPECT_EQ(g.bind_addr, "0.0.0.0:50051");
  EXPECT_EQ(g.runtime_size, 8);
  EXPECT_EQ(g.max_message_size, 208715200);
  EXPECT_EQ(g.max_receive_message_size_mb, 200);
  EXPECT_EQ(g.keepalive_time_ms, 60000);
  EXPECT_EQ(g.max_connection_age_seconds, 0);
  EXPECT_EQ(g.max_concurrent_streams, 1000);
  EXPECT_EQ(g.accepted_compression_algorithms, (std::vector<std::string>{"gzip", "zstd"}));
  EXPECT_FALSE(g.tls.enabled);
  EXPECT_EQ(g.tls.cert_path, "");  // ${TLS_CERT_PATH} unset
  EXPECT_EQ(loaded->lines.at("grpc.port"), 4);
}

TEST(ConfigTest, SeedCopyIsVerbatim) {
  std::string seed = ReadFile(std::string(OPENWIT_SOURCE_DIR) + "/../shared/seeds/grpc-ingestion.txt");
  if (seed.empty()) GTEST_SKIP() << "../shared/seeds not beside the checkout";
  std::string copy = SeedGrpcExample();
  ASSERT_FALSE(copy.empty());
  EXPECT_THAT(seed, HasSubstr(copy.substr(0, copy.size() - 1)));
}

TEST(ConfigTest, MisspeltKeySuggestsTheRightOne) {
  auto loaded = Load("processing:\n  buffer:\n    max_size_mesages: 10\n");
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("line 3: processing.buffer.max_size_mesages: unknown key"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("did you mean 'processing.buffer.max_size_messages'?"));
}

TEST(ConfigTest, KeyInTheWrongSectionPointsToItsHome) {
  auto loaded = Load("processing:\n  batch_timeout_ms: 10\n");
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("processing.batch_timeout_ms: unknown key"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("ingestion.batching.batch_timeout_ms"));
}

TEST(ConfigTest, StringWhereANumberBelongs) {
  auto loaded = Load("ingestion:\n  batching:\n    batch_size: lots\n");
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(),
              HasSubstr("line 3: ingestion.batching.batch_size: expected an integer, got \"lots\""));
}

TEST(ConfigTest, NegativeBatchSizeIsOutOfRange) {
  auto loaded = Load("ingestion:\n  batching:\n    batch_size: -5\n");
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(),
              HasSubstr("line 3: ingestion.batching.batch_size: -5 is out of range: must be between 1 and 10000000"));
}

TEST(ConfigTest, ReportsEveryProblemAtOnce) {
  auto loaded = Load("grpc:\n  port: 70000\n  otlp_logs_enabled: maybe\nkafka:\n  consumer_type: fast\n");
  ASSERT_FALSE(loaded.ok());
  const auto& m = loaded.status().message();
  EXPECT_THAT(m, HasSubstr("3 problems"));
  EXPECT_THAT(m, HasSubstr("line 2: grpc.port: 70000 is out of range"));
  EXPECT_THAT(m, HasSubstr("line 3: grpc.otlp_logs_enabled: expected a boolean"));
  EXPECT_THAT(m, HasSubstr("line 5: kafka.consumer_type: \"fast\" is not one of: standard, high_performance"));
}

TEST(ConfigTest, SectionGivenAsScalar) {
  auto loaded = Load("processing: 5\n");
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("line 1: processing: expected a mapping"));
}

TEST(ConfigTest, DuplicateKey) {
  auto loaded = Load("grpc:\n  port: 1\n  port: 2\n");
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("grpc.port: key appears twice"));
}

TEST(ConfigTest, YamlSyntaxErrorNamesTheLine) {
  auto loaded = Load("grpc:\n  port: [1, 2\n");
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("YAML syntax error"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("test.yaml: line"));
}

TEST(ConfigTest, EnvironmentSubstitution) {
  EnvLookup env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "OW_PORT") return "9999";
    if (name == "OW_BROKERS") return "a:9092, b:9092";
    return std::nullopt;
  };
  auto loaded = Load(
      "grpc:\n  port: ${OW_PORT}\n  bind: ${OW_BIND:-127.0.0.2}\n"
      "kafka:\n  brokers: ${OW_BROKERS}\n  group_id: \"cost$$center\"\n  topics: [\"${OW_MISSING}x\"]\n",
      env);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config.grpc.port, 9999);
  EXPECT_EQ(loaded->config.grpc.bind, "127.0.0.2");
  EXPECT_EQ(loaded->config.kafka.brokers, (std::vector<std::string>{"a:9092", "b:9092"}));
  EXPECT_EQ(loaded->config.kafka.group_id, "cost$center");
  EXPECT_EQ(loaded->config.kafka.topics, (std::vector<std::string>{"x"}));
  ASSERT_EQ(loaded->warnings.size(), 1u);
  EXPECT_THAT(loaded->warnings[0], HasSubstr("kafka.topics: environment variable OW_MISSING is not set"));
}

TEST(ConfigTest, SubstitutedValueIsStillValidated) {
  EnvLookup env = [](const std::string&) -> std::optional<std::string> { return "abc"; };
  auto loaded = Load("grpc:\n  port: ${P}\n", env);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("grpc.port: expected an integer, got \"abc\""));
}

TEST(ConfigTest, BatchSizeGuardrail) {
  // 100,000 records x 512 bytes = 51 MB, over 80% of a 16 MiB gRPC limit.
  auto loaded = Load("grpc:\n  max_receive_message_size_mb: 16\ningestion:\n  batching:\n    batch_size: 100000\n");
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(),
              HasSubstr("line 5: ingestion.batching.batch_size: 100000 records x 512 bytes"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("gRPC max message size 16777216 bytes"));
  EXPECT_TRUE(Load("grpc:\n  max_receive_message_size_mb: 64\ningestion:\n  batching:\n    batch_size: 100000\n").ok());
}

// Every listener that carries credentials warns when it runs without TLS in production: OTLP/gRPC,
// OTLP/HTTP (API keys) and the search API; the admin listener (/health, /metrics) does not.
TEST(ConfigTest, TlsOffInProductionIsALoudWarning) {
  auto loaded = Load("environment: production\n");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->warnings.size(), 3u);
  for (const auto& w : loaded->warnings) EXPECT_THAT(w, HasSubstr("WARNING"));
  EXPECT_THAT(loaded->warnings[0], HasSubstr("grpc.tls.enabled (default): TLS is disabled"));
  EXPECT_THAT(loaded->warnings[1], HasSubstr("http.tls.enabled (default): TLS is disabled"));
  EXPECT_THAT(loaded->warnings[1], HasSubstr("OTLP/HTTP receiver"));
  EXPECT_THAT(loaded->warnings[2], HasSubstr("search.tls.enabled (default): TLS is disabled"));
  EXPECT_TRUE(Load("environment: development\n")->warnings.empty());
  const std::string cert = std::string(OPENWIT_SOURCE_DIR) + "/README.md";  // any readable file
  std::string yaml = "environment: production\n";
  for (const char* listener : {"grpc", "http", "search"}) {
    yaml += fmt::format("{}: {{tls: {{enabled: true, cert_path: \"{}\", key_path: \"{}\"}}}}\n", listener, cert, cert);
  }
  auto with_tls = Load(yaml);
  ASSERT_TRUE(with_tls.ok()) << with_tls.status();
  EXPECT_TRUE(with_tls->warnings.empty()) << with_tls->warnings.front();
}

TEST(ConfigTest, TlsEnabledNeedsReadableFiles) {
  auto loaded = Load("grpc:\n  tls:\n    enabled: true\n    cert_path: /nonexistent/cert.pem\n");
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(),
              HasSubstr("line 4: grpc.tls.cert_path: cannot read \"/nonexistent/cert.pem\""));
  EXPECT_THAT(loaded.status().message(), HasSubstr("grpc.tls.key_path (default): required when grpc.tls.enabled"));
}

TEST(ConfigTest, HttpListenersTakeTlsToo) {
  auto loaded = Load("http:\n  tls: {enabled: true}\nadmin:\n  tls: {enabled: true, cert_path: /nonexistent.pem}\n");
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("http.tls.cert_path (default): required when http.tls.enabled"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("line 4: admin.tls.cert_path: cannot read \"/nonexistent.pem\""));
  auto reload = Load("search:\n  tls: {reload_interval_seconds: 0}\n");
  ASSERT_FALSE(reload.ok());
  EXPECT_THAT(reload.status().message(), HasSubstr("search.tls.reload_interval_seconds: 0 is out of range"));
}

TEST(ConfigTest, ClusterTokenRules) {
  EXPECT_TRUE(Load("cluster: {token: 0123456789abcdef}\n").ok());
  auto short_token = Load("cluster: {token: secret}\n");
  ASSERT_FALSE(short_token.ok());
  EXPECT_THAT(short_token.status().message(), HasSubstr("line 1: cluster.token: 6 characters is too short"));
  auto both = Load("cluster:\n  token: 0123456789abcdef\n  token_file: /etc/token\n");
  ASSERT_FALSE(both.ok());
  EXPECT_THAT(both.status().message(), HasSubstr("set cluster.token or cluster.token_file, not both"));
  auto missing_file = Load("cluster: {token_file: /nonexistent/token}\n");
  ASSERT_FALSE(missing_file.ok());
  EXPECT_THAT(missing_file.status().message(), HasSubstr("cluster.token_file: cannot read \"/nonexistent/token\""));
  // The token is a secret: the effective configuration masks it.
  EXPECT_THAT(EffectiveConfigYaml(Load("cluster: {token: 0123456789abcdef}\n")->config),
              Not(HasSubstr("0123456789abcdef")));
}

// An internal port that other machines reach needs the token; with it, production still warns that
// internal traffic is not encrypted.
TEST(ConfigTest, InternalPortOnAPublicAddressNeedsTheToken) {
  for (const char* key : {"ingest:\n  listen", "storage:\n  flight", "control:\n  listen"}) {
    auto loaded = Load(std::string(key) + ": {bind: 0.0.0.0}\n");
    ASSERT_FALSE(loaded.ok()) << key;
    EXPECT_THAT(loaded.status().message(), HasSubstr("\"0.0.0.0\" is not a loopback address")) << key;
    EXPECT_THAT(loaded.status().message(), HasSubstr("set cluster.token")) << key;
  }
  for (const char* loopback : {"127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"}) {
    EXPECT_TRUE(Load(fmt::format("ingest:\n  listen: {{bind: \"{}\"}}\n", loopback)).ok()) << loopback;
  }
  auto with_token = Load("cluster: {token: 0123456789abcdef}\ningest:\n  listen: {bind: 10.0.0.7}\n");
  ASSERT_TRUE(with_token.ok()) << with_token.status();
  EXPECT_TRUE(with_token->warnings.empty());
  std::string production =
      "environment: production\ncluster: {token: 0123456789abcdef}\ningest:\n  listen: {bind: 10.0.0.7}\n";
  auto warned = Load(production);
  ASSERT_TRUE(warned.ok());
  EXPECT_THAT(warned->warnings.back(),
              HasSubstr("WARNING: line 4: ingest.listen.bind: \"10.0.0.7\" is not a loopback address and internal "
                        "traffic is not encrypted"));
}

TEST(ConfigTest, BindAddrMustAgreeWithBindAndPort) {
  auto loaded = Load("grpc:\n  bind: 0.0.0.0\n  port: 50051\n  bind_addr: 0.0.0.0:50052\n");
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("line 4: grpc.bind_addr"));
}

TEST(ConfigTest, KeepaliveSecondsAndMillisecondsAgree) {
  auto seconds_only = Load("grpc:\n  keepalive_time_seconds: 30\n");
  ASSERT_TRUE(seconds_only.ok());
  EXPECT_EQ(seconds_only->config.grpc.keepalive_time_ms, 30000);
  auto conflict = Load("grpc:\n  keepalive_time_ms: 1000\n  keepalive_time_seconds: 30\n");
  ASSERT_FALSE(conflict.ok());
  EXPECT_THAT(conflict.status().message(), HasSubstr("grpc.keepalive_time_ms: 1000 ms disagrees"));
  // Milliseconds that are no whole number of seconds: the seconds they give agree with them, so
  // the effective config (both keys) loads again to the same (found by tests/fuzz/config).
  for (const char* yaml : {"grpc:\n  keepalive_timeout_ms: 20001\n", "grpc:\n  keepalive_timeout_ms: 500\n"}) {
    auto ms_only = Load(yaml);
    ASSERT_TRUE(ms_only.ok()) << ms_only.status();
    const std::string effective = EffectiveConfigYaml(ms_only->config);
    auto again = Load(effective);
    ASSERT_TRUE(again.ok()) << yaml << again.status();
    EXPECT_EQ(again->config.grpc.keepalive_timeout_ms, ms_only->config.grpc.keepalive_timeout_ms);
    EXPECT_EQ(EffectiveConfigYaml(again->config), effective);
  }
  auto rounded_up = Load("grpc:\n  keepalive_timeout_ms: 20001\n  keepalive_timeout_seconds: 21\n");
  EXPECT_FALSE(rounded_up.ok());
}

TEST(ConfigTest, KafkaEnabledNeedsBrokersAndTopics) {
  auto loaded = Load("ingestion:\n  sources:\n    kafka:\n      enabled: true\n");
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("kafka.brokers (default): required"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("kafka.topics (default): required"));
}

TEST(ConfigTest, AuthAndQuotaEntriesAreChecked) {
  auto bad = Load("auth:\n  enabled: true\n  api_keys: [\"no-equals-sign\"]\nquotas:\n  overrides: [\"acme=lots\"]\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("line 3: auth.api_keys: entries are \"tenant=key\""));
  EXPECT_THAT(bad.status().message(), HasSubstr("line 5: quotas.overrides: \"acme=lots\" is not"));
  auto nothing = Load("auth:\n  enabled: true\n");
  ASSERT_FALSE(nothing.ok());
  EXPECT_THAT(nothing.status().message(), HasSubstr("auth is on but no key can match"));
  auto good =
      Load("auth:\n  enabled: true\n  api_keys: [\"acme=s3cret-key\"]\nquotas:\n  overrides: [\"acme=100:2000\"]\n");
  ASSERT_TRUE(good.ok()) << good.status();
  std::string yaml = EffectiveConfigYaml(good->config);
  EXPECT_THAT(yaml, HasSubstr("acme=********"));
  EXPECT_THAT(yaml, Not(HasSubstr("s3cret-key")));
}

TEST(ConfigTest, TopicTenantsAreCheckedAtLoad) {
  auto good = Load(
      "kafka:\n  topic_tenants: [\"otlp-logs=acme\", \"^team-(a|b)\\\\..*=team.ab\", \"^x=y.*=weird-but-fine\"]\n");
  ASSERT_TRUE(good.ok()) << good.status();
  auto rules = ParseTopicTenants(good->config.kafka.topic_tenants);
  ASSERT_TRUE(rules.ok()) << rules.status();
  ASSERT_EQ(rules->size(), 3u);
  EXPECT_EQ((*rules)[0], (std::pair<std::string, std::string>{"otlp-logs", "acme"}));
  EXPECT_EQ((*rules)[1], (std::pair<std::string, std::string>{"^team-(a|b)\\..*", "team.ab"}));
  EXPECT_EQ((*rules)[2], (std::pair<std::string, std::string>{"^x=y.*", "weird-but-fine"}));  // split at the last '='

  auto bad_pattern = Load("kafka:\n  topic_tenants:\n    - \"a=b\"\n    - \"^otlp-(logs=acme\"\n");
  ASSERT_FALSE(bad_pattern.ok());
  EXPECT_THAT(bad_pattern.status().message(),
              HasSubstr("line 2: kafka.topic_tenants: \"^otlp-(logs=acme\" is not TOPIC=tenant or ^PATTERN=tenant: "
                        "the pattern ^otlp-(logs does not compile"));
  auto bad_tenant = Load("kafka:\n  topic_tenants: [\"otlp-logs=no tenant\"]\n");
  ASSERT_FALSE(bad_tenant.ok());
  EXPECT_THAT(bad_tenant.status().message(),
              HasSubstr("kafka.topic_tenants: \"otlp-logs=no tenant\" is not TOPIC=tenant or ^PATTERN=tenant: "
                        "\"no tenant\" is not a tenant"));
  for (const char* entry : {"otlp-logs", "=acme", "otlp-logs="}) {
    auto bad = Load(std::string("kafka:\n  topic_tenants: [\"") + entry + "\"]\n");
    ASSERT_FALSE(bad.ok()) << entry;
    EXPECT_THAT(bad.status().message(), HasSubstr(std::string("kafka.topic_tenants: \"") + entry + "\" is not"));
  }
}

// One parser for every "KEY=VALUE" list: quotas, retention and topic tenants read their entries alike.
TEST(ConfigTest, OverrideListsShareOneParser) {
  auto quotas = ParseQuotaOverrides({"acme=100:2000", "big=0:5"});
  ASSERT_TRUE(quotas.ok()) << quotas.status();
  EXPECT_EQ(quotas->at("acme").records_per_second, 100);
  EXPECT_EQ(quotas->at("acme").bytes_per_second, 2000);
  EXPECT_EQ(quotas->at("big").bytes_per_second, 5);
  for (const char* bad : {"acme=100", "acme=-1:5", "acme=1:x", "a b=1:1", "=1:1"}) {
    EXPECT_FALSE(ParseQuotaOverrides({bad}).ok()) << bad;
  }
  auto days = ParseRetentionOverrides({"keep=0", "short=7"});
  ASSERT_TRUE(days.ok()) << days.status();
  EXPECT_EQ(days->at("keep"), 0);
  EXPECT_EQ(days->at("short"), 7);
  auto bad_days = ParseRetentionOverrides({"short=-7"});
  ASSERT_FALSE(bad_days.ok());
  EXPECT_THAT(bad_days.status().message(), HasSubstr("\"short=-7\" is not tenant=DAYS: DAYS must be"));
  EXPECT_FALSE(ParseRetentionOverrides({"a=b=7"}).ok());  // "a=b" is no tenant
}

TEST(ConfigTest, EveryKeyTheSeedsNameIsKnown) {
  const std::string reference = ConfigReferenceMarkdown();
  for (const char* key : {"ingestion.sources.kafka.enabled",
                          "ingestion.sources.grpc.enabled",
                          "ingestion.sources.http.enabled",
                          "ingestion.batching.batch_size",
                          "ingestion.batching.batch_timeout_ms",
                          "proxy.http.max_payload_size_mb",
                          "proxy.grpc.max_concurrent_streams",
                          "processing.buffer.max_size_messages",
                          "processing.buffer.max_size_bytes",
                          "processing.buffer.flush_interval_seconds",
                          "processing.flush_size_messages",
                          "processing.dedup_enabled",
                          "processing.dedup_window_seconds",
                          "processing.wal.sync_on_write",
                          "kafka.brokers",
                          "kafka.group_id",
                          "kafka.topics",
                          "kafka.consumer_type",
                          "kafka.high_performance.num_consumers",
                          "kafka.high_performance.processing_threads",
                          "kafka.high_performance.num_grpc_clients",
                          "kafka.high_performance.channel_buffer_size",
                          "kafka.fetch_min_bytes",
                          "kafka.fetch_max_bytes",
                          "kafka.max_partition_fetch_bytes",
                          "kafka.enable_zero_copy",
                          "kafka.preallocate_buffers",
                          "kafka.buffer_pool_size",
                          "kafka.batch_size",
                          "kafka.batch_timeout_ms",
                          "kafka.telemetry_type",
                          "http.port",
                          "http.max_concurrent_requests",
                          "http.request_timeout_ms",
                          "http.max_payload_size_mb",
                          "http.upstream.pool_max_idle_per_host",
                          "grpc.tls.cert_path"}) {
    EXPECT_THAT(reference, HasSubstr(std::string("| `") + key + "` |")) << key;
  }
}

TEST(ConfigTest, EffectiveConfigRoundTrips) {
  auto loaded = Load("grpc:\n  port: 5555\nkafka:\n  brokers: [a:1]\nobject_store_unused: 1\n");
  ASSERT_FALSE(loaded.ok());  // unknown top-level key
  auto ok = Load("grpc:\n  port: 5555\nstorage:\n  object_store:\n    secret_access_key: hunter22\n");
  ASSERT_TRUE(ok.ok());
  std::string yaml = EffectiveConfigYaml(ok->config);
  EXPECT_THAT(yaml, Not(HasSubstr("hunter22")));  // secrets are masked
  auto again = Load(yaml);
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << yaml;
  EXPECT_EQ(again->config.grpc.port, 5555);
}

// config/openwit.yaml is "the embedded default": running without --config must mean the same.
TEST(ConfigTest, ShippedDefaultFileEqualsEmbeddedDefaults) {
  auto loaded = LoadConfigFile(std::string(OPENWIT_SOURCE_DIR) + "/config/openwit.yaml", NoEnv);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(EffectiveConfigYaml(loaded->config), EffectiveConfigYaml(Config{}));
}

// README.md's configuration reference is generated from the schema; this keeps them equal.
TEST(ConfigTest, ReadmeReferenceTableIsCurrent) {
  std::string readme = ReadFile(std::string(OPENWIT_SOURCE_DIR) + "/README.md");
  EXPECT_THAT(readme, HasSubstr(ConfigReferenceMarkdown()))
      << "regenerate with: build/release/openwit config reference, between the markers in README.md";
}

}  // namespace
}  // namespace openwit
