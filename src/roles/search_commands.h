#pragma once
// The command line's search client (issue #13): `openwit query`, `openwit trace` and `openwit
// tail` ask a search node over its HTTP API (POST /v1/query, GET /jaeger/api/traces/{id}) and
// print what it answers for a terminal or a script. The node's address comes from --url or
// OPENWIT_URL (default http://127.0.0.1:7280), the key from --api-key or OPENWIT_API_KEY.

#include <string>
#include <vector>

namespace openwit {

// The usage lines of the three commands, for `openwit --help`.
extern const char* const kSearchCommandsUsage;

// Runs `openwit <command> args...` for command "query", "trace" or "tail"; the exit code (0 ok,
// 1 the node refused or could not be reached, 2 usage).
int RunSearchCommand(const std::string& command, const std::vector<std::string>& args);

}  // namespace openwit
