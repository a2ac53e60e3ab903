#include "roles/search_commands.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/http_client.h"

namespace openwit {

const char* const kSearchCommandsUsage =
    R"(  openwit query SQL [--format table|json|csv] [--start T] [--end T] [--limit N]
                                 run SQL on the tables logs, spans, metrics of your tenant
  openwit trace TRACE_ID         print a trace as a tree of spans
  openwit tail [--service NAME] [--since SECONDS] [--interval SECONDS]
                                 print new log records as they arrive (Ctrl-C stops)
  Search commands take --url URL (OPENWIT_URL; http://127.0.0.1:7280), --api-key KEY
  (OPENWIT_API_KEY) and --cacert FILE (an https:// node's CA). T: Unix nanoseconds or RFC 3339.
)";

namespace {

using nlohmann::json;

constexpr size_t kMaxTableCell = 120;  // characters of a table cell; json and csv keep everything

struct Client {
  std::string url = "http://127.0.0.1:7280";
  std::string api_key;
  std::string ca_file;

  // The answer's body when the node says 200; otherwise the node's own error (its message and
  // kind, or Jaeger's errors) or why it could not be reached, in `error`.
  std::optional<std::string> Call(const std::string& method, const std::string& path, const std::string& body,
                                  std::string* error) const {
    HttpClientRequest request;
    request.method = method;
    request.url = url + path;
    request.body = body;
    request.ca_file = ca_file;
    if (!body.empty()) request.headers.emplace_back("Content-Type", "application/json");
    if (!api_key.empty()) request.headers.emplace_back("Authorization", "Bearer " + api_key);
    auto answer = HttpCall(request);
    if (!answer.ok()) {
      *error = fmt::format("cannot reach the search node at {}: {}", url, answer.status().message());
      return std::nullopt;
    }
    if (answer->status == 200) return std::move(answer->body);
    const json parsed = json::parse(answer->body, nullptr, /*allow_exceptions=*/false);
    std::string message = answer->body.substr(0, 300);  // not ours (a proxy's page?): its start
    if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_string()) {
      message = parsed["error"].get<std::string>();
      if (parsed.contains("kind") && parsed["kind"].is_string())
        message += " (" + parsed["kind"].get<std::string>() + ")";
    } else if (parsed.is_object() && parsed.contains("errors") && parsed["errors"].is_array() &&
               !parsed["errors"].empty() && parsed["errors"][0].contains("msg")) {
      message = parsed["errors"][0]["msg"].dump();
    }
    while (!message.empty() && message.back() == '\n') message.pop_back();
    *error = fmt::format("HTTP {}: {}", answer->status, message);
    return std::nullopt;
  }
};

// Flags: `--name value` or `--name=value`; what is not a flag is positional.
struct Flags {
  std::map<std::string, std::string> named;
  std::vector<std::string> positional;
};

std::optional<Flags> ParseFlags(const std::vector<std::string>& args, const std::set<std::string>& known,
                                std::string* error) {
  Flags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      flags.positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    const size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      *error = a + " needs a value";
      return std::nullopt;
    }
    if (!known.count(name)) {
      *error = "unknown option --" + name;
      return std::nullopt;
    }
    flags.named[name] = value;
  }
  return flags;
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

Client ClientOf(const Flags& flags) {
  Client c;
  if (auto env = Env("OPENWIT_URL"); !env.empty()) c.url = env;
  if (auto env = Env("OPENWIT_API_KEY"); !env.empty()) c.api_key = env;
  if (auto it = flags.named.find("url"); it != flags.named.end()) c.url = it->second;
  if (auto it = flags.named.find("api-key"); it != flags.named.end()) c.api_key = it->second;
  if (auto it = flags.named.find("cacert"); it != flags.named.end()) c.ca_file = it->second;
  while (!c.url.empty() && c.url.back() == '/') c.url.pop_back();
  return c;
}

int Fail(const std::string& command, const std::string& error) {
  std::fprintf(stderr, "openwit %s: %s\n", command.c_str(), error.c_str());
  return 1;
}

int UsageError(const std::string& command, const std::string& error) {
  std::fprintf(stderr, "openwit %s: %s\n\nUsage:\n%s", command.c_str(), error.c_str(), kSearchCommandsUsage);
  return 2;
}

// A result cell as text: strings as they are, null as `null_text`, anything else as JSON.
std::string CellText(const json& cell, const char* null_text) {
  if (cell.is_null()) return null_text;
  if (cell.is_string()) return cell.get<std::string>();
  return cell.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Characters (UTF-8 code points) in `text`: the width of a cell on a terminal, near enough.
size_t Width(const std::string& text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// `text` cut to `width` characters, with "..." when cut; control characters (newlines of a log
// body) shown as spaces, so that one row stays one line.
std::string TableCell(std::string text, size_t width) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  if (Width(text) <= width) return text;
  size_t chars = 0, i = 0;
  for (; i < text.size(); ++i) {
    if ((text[i] & 0xC0) != 0x80 && ++chars > width - 3) break;
  }
  return text.substr(0, i) + "...";
}

void PrintTable(const json& columns, const json& rows) {
  std::vector<std::string> header;
  for (const auto& c : columns) header.push_back(c.value("name", ""));
  std::vector<std::vector<std::string>> cells;
  std::vector<size_t> widths;
  for (const auto& h : header) widths.push_back(Width(h));
  for (const auto& row : rows) {
    std::vector<std::string> line;
    for (size_t i = 0; i < row.size() && i < header.size(); ++i) {
      line.push_back(TableCell(CellText(row[i], "NULL"), kMaxTableCell));
      widths[i] = std::max(widths[i], Width(line.back()));
    }
    cells.push_back(std::move(line));
  }
  auto print_line = [&](const std::vector<std::string>& line) {
    std::string out;
    for (size_t i = 0; i < line.size(); ++i) {
      out += line[i];
      if (i + 1 < line.size()) out += std::string(widths[i] - Width(line[i]) + 2, ' ');
    }
    std::puts(out.c_str());
  };
  print_line(header);
  std::vector<std::string> rule;
  for (size_t w : widths) rule.push_back(std::string(w, '-'));
  print_line(rule);
  for (const auto& line : cells) print_line(line);
}

// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.
std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void PrintCsv(const json& columns, const json& rows) {
  auto print_line = [](const std::vector<std::string>& fields) {
    std::string out;
    for (size_t i = 0; i < fields.size(); ++i) out += (i ? "," : "") + CsvField(fields[i]);
    std::puts(out.c_str());
  };
  std::vector<std::string> header;
  for (const auto& c : columns) header.push_back(c.value("name", ""));
  print_line(header);
  for (const auto& row : rows) {
    std::vector<std::string> fields;
    for (const auto& cell : row) fields.push_back(CellText(cell, ""));
    print_line(fields);
  }
}

// A time flag as the API takes it: digits are Unix nanoseconds, anything else RFC 3339 text.
json TimeValue(const std::string& text) {
  if (!text.empty() && std::all_of(text.begin(), text.end(), ::isdigit)) return json(std::stoll(text));
  return json(text);
}

// POST /v1/query; the parsed answer, or nullopt with `error` set.
std::optional<json> Query(const Client& client, const json& request, std::string* error) {
  auto body = client.Call("POST", "/v1/query", request.dump(), error);
  if (!body) return std::nullopt;
  json answer = json::parse(*body, nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object() || !answer.contains("rows")) {
    *error = "the node's answer is not a query result: " + body->substr(0, 200);
    return std::nullopt;
  }
  return answer;
}

int QueryCommand(const std::vector<std::string>& args) {
  std::string error;
  auto flags = ParseFlags(args, {"url", "api-key", "cacert", "format", "start", "end", "limit"}, &error);
  if (!flags) return UsageError("query", error);
  if (flags->positional.size() != 1) return UsageError("query", "one SQL statement, quoted, is needed");
  const std::string format = flags->named.count("format") ? flags->named["format"] : "table";
  if (format != "table" && format != "json" && format != "csv") {
    return UsageError("query", "--format is table, json or csv, not " + format);
  }
  json request = {{"sql", flags->positional[0]}};
  for (const char* key : {"start", "end"}) {
    if (flags->named.count(key)) request[key] = TimeValue(flags->named[key]);
  }
  if (flags->named.count("limit")) {
    const std::string& limit = flags->named["limit"];
    if (limit.empty() || !std::all_of(limit.begin(), limit.end(), ::isdigit) || limit.size() > 18) {
      return UsageError("query", "--limit is a number of rows, not " + limit);
    }
    request["limit"] = std::stoll(limit);
  }
  const Client client = ClientOf(*flags);
  auto answer = Query(client, request, &error);
  if (!answer) return Fail("query", error);
  if (format == "json") {
    std::puts(answer->dump(2, ' ', false, json::error_handler_t::replace).c_str());
    return 0;
  }
  const json& columns = (*answer)["columns"];
  const json& rows = (*answer)["rows"];
  format == "csv" ? PrintCsv(columns, rows) : PrintTable(columns, rows);
  // The figures go to stderr: stdout stays the rows alone, for a pipe.
  const json stats = answer->value("stats", json::object());
  std::fprintf(stderr, "%zu row%s%s; %lld of %lld files read, %.1f ms\n", rows.size(), rows.size() == 1 ? "" : "s",
               answer->value("truncated", false) ? " (cut at the row limit: --limit, search.max_result_rows)" : "",
               static_cast<long long>(stats.value("files_read", 0)),
               static_cast<long long>(stats.value("files_considered", 0)), stats.value("elapsed_ms", 0.0));
  return 0;
}

// ---- openwit trace ------------------------------------------------------------------------

std::string Duration(int64_t micros) {
  if (micros < 1000) return fmt::format("{} us", micros);
  if (micros < 1000000) return fmt::format("{:.2f} ms", static_cast<double>(micros) / 1000);
  return fmt::format("{:.3f} s", static_cast<double>(micros) / 1000000);
}

int TraceCommand(const std::vector<std::string>& args) {
  std::string error;
  auto flags = ParseFlags(args, {"url", "api-key", "cacert"}, &error);
  if (!flags) return UsageError("trace", error);
  if (flags->positional.size() != 1) return UsageError("trace", "one trace id (32 hex digits) is needed");
  const std::string& id = flags->positional[0];
  if (id.empty() || id.size() > 32 || !std::all_of(id.begin(), id.end(), ::isxdigit)) {
    return UsageError("trace", "a trace id is up to 32 hex digits, not " + id);
  }
  const Client client = ClientOf(*flags);
  auto body = client.Call("GET", "/jaeger/api/traces/" + id, "", &error);
  if (!body) return Fail("trace", error);
  const json answer = json::parse(*body, nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object() || !answer["data"].is_array() || answer["data"].empty()) {
    return Fail("trace", "the node's answer is not a trace: " + body->substr(0, 200));
  }
  const json& trace = answer["data"][0];
  const json& spans = trace["spans"];
  const json& processes = trace["processes"];
  // Children by parent span id; a span whose parent is not in the trace is a root.
  std::set<std::string> ids;
  for (const auto& s : spans) ids.insert(s.value("spanID", ""));
  std::map<std::string, std::vector<const json*>> children;
  std::vector<const json*> roots;
  int64_t first = std::numeric_limits<int64_t>::max(), last = std::numeric_limits<int64_t>::min();
  std::set<std::string> services;
  for (const auto& s : spans) {
    std::string parent;
    for (const auto& r : s.value("references", json::array())) {
      if (r.value("refType", "") == "CHILD_OF") {
        parent = r.value("spanID", "");
        break;
      }
    }
    (ids.count(parent) ? children[parent] : roots).push_back(&s);
    const int64_t start = s.value("startTime", int64_t{0});
    first = std::min(first, start);
    last = std::max(last, start + s.value("duration", int64_t{0}));
    services.insert(processes.value(s.value("processID", ""), json::object()).value("serviceName", ""));
  }
  auto by_start = [](const json* a, const json* b) {
    return a->value("startTime", int64_t{0}) < b->value("startTime", int64_t{0});
  };
  std::sort(roots.begin(), roots.end(), by_start);
  for (auto& [parent, list] : children) std::sort(list.begin(), list.end(), by_start);
  std::printf("trace %s: %zu span%s, %zu service%s, %s\n", trace.value("traceID", id).c_str(), spans.size(),
              spans.size() == 1 ? "" : "s", services.size(), services.size() == 1 ? "" : "s",
              Duration(last - first).c_str());
  std::printf("%12s  %12s  %s\n", "start", "duration", "service  span");
  std::function<void(const json*, int)> print = [&](const json* s, int depth) {
    bool failed = false;
    for (const auto& t : s->value("tags", json::array())) {
      if (t.value("key", "") == "error" && t["value"] == true) failed = true;
    }
    const std::string service =
        processes.value(s->value("processID", ""), json::object()).value("serviceName", std::string("?"));
    std::printf("%12s  %12s  %s%s  %s%s\n", Duration(s->value("startTime", int64_t{0}) - first).c_str(),
                Duration(s->value("duration", int64_t{0})).c_str(), std::string(2 * depth, ' ').c_str(),
                service.c_str(), s->value("operationName", "").c_str(), failed ? "  [error]" : "");
    for (const json* child : children[s->value("spanID", "")]) print(child, depth + 1);
  };
  for (const json* root : roots) print(root, 0);
  return 0;
}

// ---- openwit tail -------------------------------------------------------------------------

std::atomic<bool> tail_stopped{false};

int TailCommand(const std::vector<std::string>& args) {
  std::string error;
  auto flags = ParseFlags(args, {"url", "api-key", "cacert", "service", "since", "interval"}, &error);
  if (!flags) return UsageError("tail", error);
  if (!flags->positional.empty()) return UsageError("tail", "unexpected " + flags->positional[0]);
  auto seconds = [&](const char* name, double fallback) -> std::optional<double> {
    if (!flags->named.count(name)) return fallback;
    char* end = nullptr;
    const double v = std::strtod(flags->named[name].c_str(), &end);
    if (end == flags->named[name].c_str() || *end != '\0' || v < 0 || v > 86400 * 365) return std::nullopt;
    return v;
  };
  const auto since = seconds("since", 60), interval = seconds("interval", 1);
  if (!since || !interval || *interval < 0.1) {
    return UsageError("tail", "--since and --interval are seconds (--interval at least 0.1)");
  }
  std::string where;
  if (flags->named.count("service")) {
    std::string quoted;
    for (char c : flags->named["service"]) quoted += c == '\'' ? std::string("''") : std::string(1, c);
    where = " AND ServiceName = '" + quoted + "'";
  }
  const Client client = ClientOf(*flags);
  std::signal(SIGINT, [](int) { tail_stopped = true; });
  std::signal(SIGTERM, [](int) { tail_stopped = true; });
  // From `since` ago, then from the newest time printed: rows at exactly that time come again, and
  // the ones printed already (remembered by their text) are skipped.
  const int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  json from = now_ns - static_cast<int64_t>(*since * 1e9);
  std::set<std::string> printed_at_from;
  bool warned = false;
  while (!tail_stopped) {
    const std::string bound = from.is_string()
                                  ? "'" + from.get<std::string>() + "'"
                                  : fmt::format("make_timestamp({})::TIMESTAMPTZ", from.get<int64_t>() / 1000);
    json request = {{"sql", "SELECT Timestamp, ServiceName, SeverityText, Body FROM logs WHERE Timestamp >= " + bound +
                                where + " ORDER BY Timestamp LIMIT 5000"},
                    {"start", from.is_string() ? from : json(from.get<int64_t>())}};
    auto answer = Query(client, request, &error);
    if (!answer) {
      // A node restarting or briefly unreachable: say so once, keep trying.
      if (!warned) std::fprintf(stderr, "openwit tail: %s (trying again)\n", error.c_str());
      warned = true;
    } else {
      warned = false;
      for (const auto& row : (*answer)["rows"]) {
        const std::string time = CellText(row[0], "-");
        std::string line =
            fmt::format("{}  {}  {}  {}", time, CellText(row[1], "-"), CellText(row[2], "-"), CellText(row[3], ""));
        if (row[0].is_null() || (from.is_string() && time == from.get<std::string>())) {
          if (!printed_at_from.insert(line).second) continue;
        } else {
          from = time;
          printed_at_from = {line};
        }
        std::puts(line.c_str());
      }
      std::fflush(stdout);
    }
    for (double waited = 0; waited < *interval && !tail_stopped; waited += 0.1) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return 0;
}

}  // namespace

int RunSearchCommand(const std::string& command, const std::vector<std::string>& args) {
  if (std::find_if(args.begin(), args.end(), [](const std::string& a) { return a == "--help" || a == "-h"; }) !=
      args.end()) {
    std::printf("Usage:\n%s", kSearchCommandsUsage);
    return 0;
  }
  if (command == "query") return QueryCommand(args);
  if (command == "trace") return TraceCommand(args);
  if (command == "tail") return TailCommand(args);
  return UsageError(command, "not a search command");
}

}  // namespace openwit
