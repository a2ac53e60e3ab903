#include "common/config.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <type_traits>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

namespace openwit {
namespace {

std::string JoinPath(const std::string& prefix, std::string_view name) {
  return prefix.empty() ? std::string(name) : prefix + "." + std::string(name);
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string FormatNumber(double v) {
  if (std::abs(v) < 9.2e18 && v == std::floor(v)) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

template <class T>
constexpr const char* TypeName() {
  if constexpr (std::is_same_v<T, bool>)
    return "boolean";
  else if constexpr (std::is_integral_v<T>)
    return "integer";
  else if constexpr (std::is_floating_point_v<T>)
    return "number";
  else if constexpr (std::is_same_v<T, std::string>)
    return "string";
  else
    return "list of strings";
}

// Every key path of the schema, for "did you mean" across sections.
class PathCollector {
 public:
  std::vector<std::string> paths;
  template <class T>
  void Field(std::string_view name, T&, const FieldSpec&) {
    paths.push_back(JoinPath(prefix_, name));
  }
  template <class S>
  void Section(std::string_view name, S& sub, const char*) {
    std::string saved = prefix_;
    prefix_ = JoinPath(prefix_, name);
    paths.push_back(prefix_);
    sub.Visit(*this);
    prefix_ = saved;
  }

 private:
  std::string prefix_;
};

const std::vector<std::string>& AllPaths() {
  static const std::vector<std::string> paths = [] {
    Config config;
    PathCollector collector;
    config.Visit(collector);
    return collector.paths;
  }();
  return paths;
}

// Suggests the closest known key at this level, else a key elsewhere with the same last name.
std::string Suggest(std::string_view key, const std::vector<std::string>& siblings, const std::string& prefix) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, key.size() / 3) + 1;
  for (const auto& s : siblings) {
    size_t d = EditDistance(key, s);
    if (d < best_distance) best_distance = d, best = JoinPath(prefix, s);
  }
  if (!best.empty()) return best;
  for (const auto& path : AllPaths()) {
    auto dot = path.rfind('.');
    std::string_view last = dot == std::string::npos ? std::string_view(path) : std::string_view(path).substr(dot + 1);
    if (last == key) return path;
  }
  return "";
}

// Replaces ${VAR} and ${VAR:-default}; "$$" is a literal "$".
std::string SubstituteEnv(const std::string& in, const EnvLookup& env, std::vector<std::string>* unset) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '$' && i + 1 < in.size() && in[i + 1] == '$') {
      out += '$';
      ++i;
    } else if (in[i] == '$' && i + 1 < in.size() && in[i + 1] == '{') {
      size_t close = in.find('}', i + 2);
      if (close == std::string::npos) {
        out.append(in, i, std::string::npos);
        break;
      }
      std::string body = in.substr(i + 2, close - i - 2);
      std::string name = body;
      std::optional<std::string> fallback;
      if (auto sep = body.find(":-"); sep != std::string::npos) {
        name = body.substr(0, sep);
        fallback = body.substr(sep + 2);
      }
      auto value = env(name);
      if (value && !value->empty())
        out += *value;
      else if (fallback)
        out += *fallback;
      else
        unset->push_back(name);
      i = close;
    } else {
      out += in[i];
    }
  }
  return out;
}

// Walks the schema alongside a YAML tree, filling the struct and collecting every problem.
class YamlLoader {
 public:
  YamlLoader(const EnvLookup& env, std::vector<std::string>* errors, std::vector<std::string>* warnings,
             std::map<std::string, int>* lines)
      : env_(env), errors_(errors), warnings_(warnings), lines_(lines) {}

  template <class S>
  void LoadRoot(const YAML::Node& root, S& config) {
    node_ = root;
    config.Visit(*this);
    ReportUnknownKeys();
  }

  template <class T>
  void Field(std::string_view name, T& value, const FieldSpec& spec) {
    known_.emplace_back(name);
    YAML::Node key, val;
    if (!Find(name, &key, &val)) return;
    std::string path = JoinPath(prefix_, name);
    int line = val.Mark().line + 1;
    (*lines_)[path] = key.Mark().line + 1;
    if (val.IsNull()) return;  // "key:" with no value keeps the default
    Convert(path, line, val, value, spec);
  }

  template <class S>
  void Section(std::string_view name, S& sub, const char*) {
    known_.emplace_back(name);
    YAML::Node key, val;
    if (!Find(name, &key, &val)) return;
    std::string path = JoinPath(prefix_, name);
    (*lines_)[path] = key.Mark().line + 1;
    if (val.IsNull()) return;
    if (!val.IsMap()) {
      Error(path, val.Mark().line + 1, "expected a mapping of keys (a section), got a {}", Kind(val));
      return;
    }
    YamlLoader child(env_, errors_, warnings_, lines_);
    child.prefix_ = path;
    child.node_ = val;
    sub.Visit(child);
    child.ReportUnknownKeys();
  }

 private:
  static const char* Kind(const YAML::Node& n) { return n.IsSequence() ? "list" : n.IsMap() ? "mapping" : "scalar"; }

  template <class... Args>
  void Error(const std::string& path, int line, fmt::format_string<Args...> f, Args&&... args) {
    errors_->push_back(fmt::format("line {}: {}: {}", line, path, fmt::format(f, std::forward<Args>(args)...)));
  }

  bool Find(std::string_view name, YAML::Node* key, YAML::Node* val) const {
    if (!node_.IsMap()) return false;
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == name) {
        *key = it->first;
        *val = it->second;
        return true;
      }
    }
    return false;
  }

  void ReportUnknownKeys() {
    if (!node_.IsMap()) return;
    std::set<std::string> seen;
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      std::string key = it->first.IsScalar() ? it->first.Scalar() : "?";
      int line = it->first.Mark().line + 1;
      std::string path = JoinPath(prefix_, key);
      if (!seen.insert(key).second) {
        Error(path, line, "key appears twice in the same section");
        continue;
      }
      if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
      std::string hint = Suggest(key, known_, prefix_);
      if (hint.empty()) {
        Error(path, line, "unknown key (known here: {})", fmt::join(known_, ", "));
      } else {
        Error(path, line, "unknown key; did you mean '{}'?", hint);
      }
    }
  }

  // The scalar text after ${VAR} substitution.
  std::string ScalarText(const std::string& path, int line, const YAML::Node& val) {
    std::vector<std::string> unset;
    std::string text = SubstituteEnv(val.Scalar(), env_, &unset);
    for (const auto& name : unset) {
      warnings_->push_back(
          fmt::format("line {}: {}: environment variable {} is not set; using \"\"", line, path, name));
    }
    return text;
  }

  template <class T>
  void Convert(const std::string& path, int line, const YAML::Node& val, T& value, const FieldSpec& spec) {
    if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      std::vector<std::string> items;
      if (val.IsSequence()) {
        for (const auto& item : val) {
          if (!item.IsScalar()) {
            Error(path, item.Mark().line + 1, "expected a list of strings, found a {} inside", Kind(item));
            return;
          }
          items.push_back(ScalarText(path, item.Mark().line + 1, item));
        }
      } else if (val.IsScalar()) {
        // "a,b,c" is accepted too, so a single ${ENV} can carry a list.
        std::string text = ScalarText(path, line, val);
        std::stringstream ss(text);
        for (std::string part; std::getline(ss, part, ',');) {
          part.erase(0, part.find_first_not_of(" \t"));
          part.erase(part.find_last_not_of(" \t") + 1);
          if (!part.empty()) items.push_back(part);
        }
      } else {
        Error(path, line, "expected a list of strings, got a mapping");
        return;
      }
      for (const auto& item : items) {
        if (!spec.one_of.empty() && std::find(spec.one_of.begin(), spec.one_of.end(), item) == spec.one_of.end()) {
          Error(path, line, "\"{}\" is not one of: {}", item, fmt::join(spec.one_of, ", "));
          return;
        }
      }
      value = std::move(items);
      return;
    } else {
      if (!val.IsScalar()) {
        Error(path, line, "expected a {}, got a {}", TypeName<T>(), Kind(val));
        return;
      }
      std::string text = ScalarText(path, line, val);
      if constexpr (std::is_same_v<T, std::string>) {
        if (!spec.one_of.empty() && std::find(spec.one_of.begin(), spec.one_of.end(), text) == spec.one_of.end()) {
          std::string hint;
          for (const auto& option : spec.one_of) {
            if (EditDistance(text, option) <= 2) hint = fmt::format("; did you mean \"{}\"?", option);
          }
          Error(path, line, "\"{}\" is not one of: {}{}", text, fmt::join(spec.one_of, ", "), hint);
          return;
        }
        value = std::move(text);
      } else if constexpr (std::is_same_v<T, bool>) {
        std::string lower = text;
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        if (lower == "true" || lower == "yes" || lower == "on")
          value = true;
        else if (lower == "false" || lower == "no" || lower == "off")
          value = false;
        else
          Error(path, line, "expected a boolean (true or false), got \"{}\"", text);
      } else {
        T parsed{};
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
        if (ec == std::errc::result_out_of_range) {
          Error(path, line, "{} does not fit in a {}", text, TypeName<T>());
          return;
        }
        if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
          Error(path, line, "expected {} {}, got \"{}\"", std::is_integral_v<T> ? "an" : "a", TypeName<T>(), text);
          return;
        }
        double d = static_cast<double>(parsed);
        if ((spec.min && d < *spec.min) || (spec.max && d > *spec.max)) {
          std::string range = spec.min && spec.max
                                  ? fmt::format("between {} and {}", FormatNumber(*spec.min), FormatNumber(*spec.max))
                              : spec.min ? fmt::format("at least {}", FormatNumber(*spec.min))
                                         : fmt::format("at most {}", FormatNumber(*spec.max));
          Error(path, line, "{} is out of range: must be {}", text, range);
          return;
        }
        value = parsed;
      }
    }
  }

  const EnvLookup& env_;
  std::vector<std::string>* errors_;
  std::vector<std::string>* warnings_;
  std::map<std::string, int>* lines_;
  std::string prefix_;
  YAML::Node node_;
  std::vector<std::string> known_;
};

// Emits the effective configuration as YAML.
class YamlWriter {
 public:
  explicit YamlWriter(YAML::Emitter& out) : out_(out) {}

  template <class T>
  void Field(std::string_view name, T& value, const FieldSpec& spec) {
    out_ << YAML::Key << std::string(name) << YAML::Value;
    if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      out_ << YAML::Flow << YAML::BeginSeq;
      for (const auto& v : value) {
        // A secret "name=value" keeps its name: which tenants have keys is not a secret.
        if (spec.secret)
          out_ << (v.find('=') == std::string::npos ? "********" : v.substr(0, v.find('=')) + "=********");
        else
          out_ << v;
      }
      out_ << YAML::EndSeq;
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (spec.secret && !value.empty())
        out_ << "********";
      else
        out_ << YAML::DoubleQuoted << value;
    } else {
      out_ << value;
    }
  }

  template <class S>
  void Section(std::string_view name, S& sub, const char*) {
    out_ << YAML::Key << std::string(name) << YAML::Value << YAML::BeginMap;
    sub.Visit(*this);
    out_ << YAML::EndMap;
  }

 private:
  YAML::Emitter& out_;
};

// Rows of the configuration reference: key, type, default, allowed values, doc.
class ReferenceWriter {
 public:
  std::string table = "| key | type | default | allowed | what it does |\n|---|---|---|---|---|\n";

  template <class T>
  void Field(std::string_view name, T& value, const FieldSpec& spec) {
    std::string def;
    if constexpr (std::is_same_v<T, std::vector<std::string>>)
      def = fmt::format("[{}]", fmt::join(value, ", "));
    else if constexpr (std::is_same_v<T, std::string>)
      def = value.empty() ? "\"\"" : value;
    else if constexpr (std::is_same_v<T, bool>)
      def = value ? "true" : "false";
    else
      def = fmt::format("{}", value);
    std::string allowed;
    if (!spec.one_of.empty())
      allowed = fmt::format("{}", fmt::join(spec.one_of, ", "));
    else if (spec.min && spec.max)
      allowed = FormatNumber(*spec.min) + " .. " + FormatNumber(*spec.max);
    table +=
        fmt::format("| `{}` | {} | `{}` | {} | {} |\n", JoinPath(prefix_, name), TypeName<T>(), def, allowed, spec.doc);
  }

  template <class S>
  void Section(std::string_view name, S& sub, const char*) {
    std::string saved = prefix_;
    prefix_ = JoinPath(prefix_, name);
    sub.Visit(*this);
    prefix_ = saved;
  }

 private:
  std::string prefix_;
};

int LineOf(const LoadedConfig& loaded, const std::string& path) {
  auto it = loaded.lines.find(path);
  return it == loaded.lines.end() ? 0 : it->second;
}

std::string Where(const LoadedConfig& loaded, const std::string& path) {
  int line = LineOf(loaded, path);
  return line ? fmt::format("line {}: {}", line, path) : fmt::format("{} (default)", path);
}

// Rules that span several keys (the seeds' guardrails among them).
void ValidateAcrossKeys(LoadedConfig& loaded, std::vector<std::string>* errors) {
  const Config& c = loaded.config;
  auto set = [&](const std::string& path) { return LineOf(loaded, path) != 0; };

  // grpc-ingestion.txt section 3: "keep batch size x average event size well below the gRPC max".
  const int64_t grpc_max = c.grpc.MaxReceiveBytes();
  const double kHeadroom = 0.8;  // room for protobuf framing and Arrow metadata
  auto check_batch = [&](const std::string& path, int64_t batch_size) {
    int64_t bytes = batch_size * c.ingestion.batching.expected_event_size_bytes;
    if (bytes > grpc_max * kHeadroom) {
      errors->push_back(fmt::format(
          "{}: {} records x {} bytes (ingestion.batching.expected_event_size_bytes) = {} bytes, over 80% of the "
          "gRPC max message size {} bytes (grpc.max_receive_message_size_mb / grpc.max_message_size); lower the "
          "batch size or raise the limit",
          Where(loaded, path), batch_size, c.ingestion.batching.expected_event_size_bytes, bytes, grpc_max));
    }
  };
  check_batch("ingestion.batching.batch_size", c.ingestion.batching.batch_size);
  if (c.ingestion.sources.kafka.enabled) check_batch("kafka.batch_size", c.kafka.batch_size);

  if (!c.grpc.bind_addr.empty()) {
    std::string expected = fmt::format("{}:{}", c.grpc.bind, c.grpc.port);
    if (c.grpc.bind_addr != expected) {
      errors->push_back(fmt::format("{}: \"{}\" disagrees with grpc.bind and grpc.port (\"{}\"); set one form",
                                    Where(loaded, "grpc.bind_addr"), c.grpc.bind_addr, expected));
    }
  }
  // The seeds carry keepalive in both ms and seconds: either form sets both, and they must agree.
  // The seconds are the milliseconds in whole seconds (at least 1), as set from the ms alone: so a
  // config with only keepalive_timeout_ms: 20001 writes back (EffectiveConfigYaml) as 20001 ms and
  // 20 s and loads again (found by tests/fuzz/config).
  auto reconcile = [&](const char* ms_key, int64_t& ms, const char* s_key, int64_t& s) {
    if (set(ms_key) && set(s_key) && s != std::max<int64_t>(1, ms / 1000)) {
      errors->push_back(
          fmt::format("{}: {} ms disagrees with {} = {} s; set one of them", Where(loaded, ms_key), ms, s_key, s));
    } else if (set(s_key) && !set(ms_key)) {
      ms = s * 1000;
    } else if (set(ms_key) && !set(s_key)) {
      s = std::max<int64_t>(1, ms / 1000);
    }
  };
  GrpcReceiverConfig& g = loaded.config.grpc;
  reconcile("grpc.keepalive_time_ms", g.keepalive_time_ms, "grpc.keepalive_time_seconds", g.keepalive_time_seconds);
  reconcile("grpc.keepalive_timeout_ms", g.keepalive_timeout_ms, "grpc.keepalive_timeout_seconds",
            g.keepalive_timeout_seconds);

  // TLS of every listener: files readable when on; off in production is a loud warning where the
  // listener carries credentials (API keys on OTLP, the search API's callers).
  struct TlsListener {
    const char* prefix;
    const TlsConfig& tls;
    const char* what;  // nullptr: carries no credentials (admin: /health, /metrics)
  };
  for (const auto& [prefix, tls, what] :
       {TlsListener{"grpc", c.grpc.tls, "OTLP/gRPC receiver"}, TlsListener{"http", c.http.tls, "OTLP/HTTP receiver"},
        TlsListener{"search", c.search.tls, "search API"}, TlsListener{"admin", c.admin.tls, nullptr}}) {
    const std::string p = prefix;
    if (tls.enabled) {
      for (const auto& [key, value] :
           {std::pair{p + ".tls.cert_path", tls.cert_path}, std::pair{p + ".tls.key_path", tls.key_path}}) {
        if (value.empty()) {
          errors->push_back(fmt::format("{}: required when {}.tls.enabled is true", Where(loaded, key), p));
        } else if (!std::ifstream(value).good()) {
          errors->push_back(fmt::format("{}: cannot read \"{}\"", Where(loaded, key), value));
        }
      }
    } else if (c.environment == "production" && what != nullptr) {
      loaded.warnings.push_back(
          fmt::format("WARNING: {}: TLS is disabled while environment is production: the {}'s traffic and credentials "
                      "travel in clear text. Set {}.tls.enabled: true with cert_path and key_path.",
                      Where(loaded, p + ".tls.enabled"), what, p));
    }
  }

  // The cluster token guards the internal ports (common/cluster_token.h).
  if (!c.cluster.token.empty() && !c.cluster.token_file.empty()) {
    errors->push_back(
        fmt::format("{}: set cluster.token or cluster.token_file, not both", Where(loaded, "cluster.token")));
  } else if (!c.cluster.token.empty() && c.cluster.token.size() < kMinClusterTokenLength) {
    errors->push_back(fmt::format("{}: {} characters is too short to guess at: use at least {} (openssl rand -hex 32)",
                                  Where(loaded, "cluster.token"), c.cluster.token.size(), kMinClusterTokenLength));
  } else if (!c.cluster.token_file.empty()) {
    if (auto token = ClusterTokenFromFile(c.cluster.token_file); !token.ok()) {
      errors->push_back(fmt::format("{}: {}", Where(loaded, "cluster.token_file"), token.status().message()));
    }
  }
  const bool has_token = !c.cluster.token.empty() || !c.cluster.token_file.empty();
  struct InternalListener {
    const char* key;
    const std::string& bind;
  };
  for (const auto& [key, bind] : {InternalListener{"ingest.listen.bind", c.ingest.listen.bind},
                                  InternalListener{"storage.flight.bind", c.storage.flight.bind},
                                  InternalListener{"control.listen.bind", c.control.listen.bind}}) {
    if (IsLoopbackAddress(bind)) continue;
    if (!has_token) {
      errors->push_back(fmt::format(
          "{}: \"{}\" is not a loopback address, so other machines reach this internal port: set cluster.token "
          "(or cluster.token_file) to the same secret in every process of the cluster, or bind it to 127.0.0.1",
          Where(loaded, key), bind));
    } else if (c.environment == "production") {
      loaded.warnings.push_back(fmt::format(
          "WARNING: {}: \"{}\" is not a loopback address and internal traffic is not encrypted: the cluster token "
          "and every record travel in clear text. Keep the internal addresses on a private network.",
          Where(loaded, key), bind));
    }
  }

  // A record reaches storage, where the search role finds it unpublished, only once the ingest
  // node flushes it.
  if (c.search.freshness_seconds > 0 && c.processing.buffer.flush_interval_seconds >= c.search.freshness_seconds) {
    loaded.warnings.push_back(fmt::format(
        "WARNING: {}: records wait up to processing.buffer.flush_interval_seconds ({} s) in the ingest node before "
        "storage has them, so they are not searchable within {} s of their ack",
        Where(loaded, "search.freshness_seconds"), c.processing.buffer.flush_interval_seconds,
        c.search.freshness_seconds));
  }
  if (c.kafka.fetch_min_bytes > c.kafka.fetch_max_bytes) {
    errors->push_back(fmt::format("{}: {} is above kafka.fetch_max_bytes ({})", Where(loaded, "kafka.fetch_min_bytes"),
                                  c.kafka.fetch_min_bytes, c.kafka.fetch_max_bytes));
  }
  if (c.ingestion.sources.kafka.enabled) {
    if (c.kafka.brokers.empty()) {
      errors->push_back(
          fmt::format("{}: required when ingestion.sources.kafka.enabled is true", Where(loaded, "kafka.brokers")));
    }
    if (c.kafka.topics.empty()) {
      errors->push_back(
          fmt::format("{}: required when ingestion.sources.kafka.enabled is true", Where(loaded, "kafka.topics")));
    }
  }
  if (c.metastore.type == "postgres" && c.metastore.postgres_dsn.empty()) {
    errors->push_back(
        fmt::format("{}: required when metastore.type is postgres", Where(loaded, "metastore.postgres_dsn")));
  }
  for (const auto& entry : c.auth.api_keys) {
    auto eq = entry.find('=');
    if (eq == std::string::npos || !ValidTenantName(entry.substr(0, eq)) || eq + 1 == entry.size()) {
      errors->push_back(fmt::format("{}: entries are \"tenant=key\" with a tenant of letters, digits, '-', '_' or '.'",
                                    Where(loaded, "auth.api_keys")));
      break;
    }
  }
  if (c.auth.enabled && c.auth.api_keys.empty() && c.auth.keys_file.empty()) {
    errors->push_back(fmt::format("{}: auth is on but no key can match: set auth.api_keys or auth.keys_file",
                                  Where(loaded, "auth.enabled")));
  }
  if (!ValidTenantName(c.auth.default_tenant)) {
    errors->push_back(fmt::format("{}: \"{}\" is not a valid tenant name", Where(loaded, "auth.default_tenant"),
                                  c.auth.default_tenant));
  }
  if (auto overrides = ParseQuotaOverrides(c.quotas.overrides); !overrides.ok()) {
    errors->push_back(fmt::format("{}: {}", Where(loaded, "quotas.overrides"), overrides.status().message()));
  }
  if (auto overrides = ParseRetentionOverrides(c.janitor.retention_overrides); !overrides.ok()) {
    errors->push_back(
        fmt::format("{}: {}", Where(loaded, "janitor.retention_overrides"), overrides.status().message()));
  }
  if (auto tenants = ParseTopicTenants(c.kafka.topic_tenants); !tenants.ok()) {
    errors->push_back(fmt::format("{}: {}", Where(loaded, "kafka.topic_tenants"), tenants.status().message()));
  }
  if (c.processing.flush_size_messages > c.processing.buffer.max_size_messages) {
    errors->push_back(
        fmt::format("{}: {} is above processing.buffer.max_size_messages ({}): the buffer would fill "
                    "before a flush by size",
                    Where(loaded, "processing.flush_size_messages"), c.processing.flush_size_messages,
                    c.processing.buffer.max_size_messages));
  }
}

}  // namespace

bool IsLoopbackAddress(std::string_view address) {
  if (address.size() > 2 && address.front() == '[' && address.back() == ']')
    address = address.substr(1, address.size() - 2);
  return address == "localhost" || address == "::1" || address.rfind("127.", 0) == 0;
}

arrow::Result<std::string> ClusterTokenFromFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return arrow::Status::IOError("cannot read \"", path, "\"");
  std::string first;
  std::getline(in, first);
  const char* blanks = " \t\r\n";
  first.erase(0, first.find_first_not_of(blanks));
  first.erase(first.find_last_not_of(blanks) + 1);
  if (first.size() < kMinClusterTokenLength) {
    return arrow::Status::Invalid("the token on the first line of \"", path, "\" has ", first.size(),
                                  " characters; at least ", kMinClusterTokenLength, " are needed");
  }
  return first;
}

int64_t GrpcReceiverConfig::MaxReceiveBytes() const {
  return std::min<int64_t>(max_message_size, max_receive_message_size_mb << 20);
}

std::optional<std::string> ProcessEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

arrow::Result<LoadedConfig> LoadConfigString(std::string_view yaml, std::string_view source_name,
                                             const EnvLookup& env) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return arrow::Status::Invalid(source_name, ": line ", e.mark.line + 1, ", column ", e.mark.column + 1,
                                  ": YAML syntax error: ", e.msg);
  }
  LoadedConfig loaded;
  std::vector<std::string> errors;
  if (!root.IsNull() && !root.IsMap()) {
    return arrow::Status::Invalid(source_name, ": the top level must be a mapping of sections");
  }
  try {
    YamlLoader loader(env, &errors, &loaded.warnings, &loaded.lines);
    loader.LoadRoot(root, loaded.config);
  } catch (const YAML::Exception& e) {
    return arrow::Status::Invalid(source_name, ": line ", e.mark.line + 1, ": ", e.msg);
  }
  if (errors.empty()) ValidateAcrossKeys(loaded, &errors);
  if (!errors.empty()) {
    // In file order: "line N: ..." first by N; cross-key problems on defaults last.
    auto line_of = [](const std::string& e) { return e.rfind("line ", 0) == 0 ? std::atoi(e.c_str() + 5) : 1 << 30; };
    std::stable_sort(errors.begin(), errors.end(),
                     [&](const std::string& a, const std::string& b) { return line_of(a) < line_of(b); });
    std::string message = fmt::format("{}: {} problem{}:", source_name, errors.size(), errors.size() == 1 ? "" : "s");
    for (const auto& e : errors) message += "\n  " + e;
    return arrow::Status::Invalid(message);
  }
  return loaded;
}

arrow::Result<LoadedConfig> LoadConfigFile(const std::string& path, const EnvLookup& env) {
  std::ifstream in(path);
  if (!in) return arrow::Status::IOError("cannot read config file ", path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return LoadConfigString(buffer.str(), path, env);
}

std::string EffectiveConfigYaml(const Config& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  YamlWriter writer(out);
  const_cast<Config&>(config).Visit(writer);  // the writer only reads
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::string ConfigReferenceMarkdown() {
  Config defaults;
  ReferenceWriter writer;
  defaults.Visit(writer);
  return writer.table;
}

}  // namespace openwit
