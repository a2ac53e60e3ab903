#include "roles/cli.h"

#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <arrow/memory_pool.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "common/build_info.h"
#include "common/config.h"
#include "roles/node.h"
#include "roles/search_commands.h"
#include "storage/object_store.h"

namespace openwit {
namespace {

constexpr const char* kUsageHead = R"(OpenWit: observability data platform (logs, traces, metrics -> Parquet).

Usage:
  openwit [ROLE] [--config FILE] [--log-level LEVEL]
  openwit config check FILE      validate FILE, print the effective configuration
  openwit config reference       print every configuration key (markdown table)
)";
constexpr const char* kUsageTail = R"(  openwit --help | --version

ROLE is one of:
  all       every role in one process (default)
  gateway   OTLP/gRPC, OTLP/HTTP and Kafka in; auth, quotas, validation, batching
  ingest    buffer, dedup, short/long WAL, Arrow, Flight to storage
  storage   Arrow Flight in, Parquet out, object store upload, metastore
  indexer   builds indexes of stable files
  search    query API
  control   node registration, health, discovery
  janitor   registers orphaned files, recovers active files, retention
  A comma-separated list (ingest,storage) runs several roles in one process.

Options:
  --config FILE       YAML configuration; ${VAR} and ${VAR:-default} are replaced from the
                      environment. Without it the embedded defaults apply (config/openwit.yaml).
  --log-level LEVEL   trace, debug, info, warn, error (overrides node.log_level)

Exit codes: 0 ok, 1 configuration or runtime error, 2 usage error.
)";

std::string UsageText() { return std::string(kUsageHead) + kSearchCommandsUsage + kUsageTail; }

int Usage(const std::string& error) {
  std::fprintf(stderr, "openwit: %s\n\n%s", error.c_str(), UsageText().c_str());
  return 2;
}

void PrintWarnings(const LoadedConfig& loaded) {
  for (const auto& w : loaded.warnings) std::fprintf(stderr, "%s\n", w.c_str());
}

int ConfigCommand(const std::vector<std::string>& args) {
  if (args.size() == 1 && args[0] == "reference") {
    std::fputs(ConfigReferenceMarkdown().c_str(), stdout);
    return 0;
  }
  if (args.size() != 2 || args[0] != "check") return Usage("expected `config check FILE` or `config reference`");
  auto loaded = LoadConfigFile(args[1]);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.status().message().c_str());
    return 1;
  }
  PrintWarnings(*loaded);
  std::fputs(EffectiveConfigYaml(loaded->config).c_str(), stdout);
  std::fprintf(stderr, "%s: OK\n", args[1].c_str());
  return 0;
}

int WaitForSignal(const sigset_t& signals) {
  int sig = 0;
  sigwait(&signals, &sig);
  return sig;
}

int RunRoles(const std::string& role_spec, const std::string& config_path, const std::string& log_level) {
  // Block the stop signals before any thread starts, so that only sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // Past a file size limit a write must fail with EFBIG (the WAL handles it), not kill the process.
  std::signal(SIGXFSZ, SIG_IGN);

  LoadedConfig loaded;
  if (!config_path.empty()) {
    auto result = LoadConfigFile(config_path);
    if (!result.ok()) {
      std::fprintf(stderr, "%s\n", result.status().message().c_str());
      return 1;
    }
    loaded = std::move(*result);
  }
  PrintWarnings(loaded);
  const Config& config = loaded.config;
  spdlog::set_level(spdlog::level::from_str(log_level.empty() ? config.node.log_level : log_level));
  spdlog::debug("Arrow memory pool: {}", arrow::default_memory_pool()->backend_name());

  auto roles = ParseRoles(role_spec);
  if (!roles.ok()) return Usage(roles.status().message());

  Node node(config, *roles);
  auto status = node.Start();
  if (!status.ok()) {
    spdlog::error("cannot start: {}", status.message());
    node.Stop();
    storage::FinalizeObjectStores();
    return 1;
  }
  std::string banner = fmt::format("OpenWit {} ({}) node {} running roles: {}\n", kVersion, kGitRevision,
                                   config.node.id, fmt::join(*roles, ", "));
  for (const auto& e : node.endpoints()) banner += fmt::format("  {:<10} {:<40} {}\n", e.name, e.address, e.what);
  for (const auto& e : node.endpoints()) {
    if (e.name != "search") continue;
    banner += fmt::format(
        "  try:       curl -s {}/v1/query{} -d '{{\"sql\": \"SELECT ServiceName, count(*) AS n FROM logs GROUP BY "
        "ServiceName\"}}'\n",
        e.address, config.auth.enabled ? " -H 'Authorization: Bearer YOUR_KEY'" : "");
    banner += fmt::format(
        "  or:        openwit query \"SELECT ServiceName, count(*) AS n FROM logs GROUP BY 1\" --url {}{}\n", e.address,
        config.auth.enabled ? " --api-key YOUR_KEY" : "");
  }
  banner += fmt::format("  config     {}\n", config_path.empty() ? "embedded defaults" : config_path);
  banner += "Stop with Ctrl-C (SIGINT) or SIGTERM.\n";
  std::fputs(banner.c_str(), stdout);
  std::fflush(stdout);

  int sig = WaitForSignal(signals);
  spdlog::info("received {}, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
  node.Stop();
  storage::FinalizeObjectStores();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int RunCli(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string role = "all", config_path, log_level;
  bool role_given = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help" || a == "help") {
      std::fputs(UsageText().c_str(), stdout);
      return 0;
    }
    if (a == "-V" || a == "--version") {
      std::printf("openwit %s (%s), Arrow %s\n", kVersion, kGitRevision, kArrowVersion);
      return 0;
    }
    if (a == "config" && !role_given) return ConfigCommand({args.begin() + i + 1, args.end()});
    if ((a == "query" || a == "trace" || a == "tail") && !role_given) {
      return RunSearchCommand(a, {args.begin() + i + 1, args.end()});
    }
    if (a == "--config" || a == "-c" || a == "--log-level") {
      if (i + 1 >= args.size()) return Usage(a + " needs a value");
      (a == "--log-level" ? log_level : config_path) = args[++i];
      continue;
    }
    if (a.rfind("--config=", 0) == 0) {
      config_path = a.substr(9);
      continue;
    }
    if (a.rfind("-", 0) == 0) return Usage("unknown option " + a);
    if (role_given) return Usage("one ROLE only (use a comma-separated list for several): " + a);
    role = a;
    role_given = true;
  }
  if (!log_level.empty() && spdlog::level::from_str(log_level) == spdlog::level::off && log_level != "off") {
    return Usage("unknown log level " + log_level);
  }
  return RunRoles(role, config_path, log_level);
}

}  // namespace openwit
