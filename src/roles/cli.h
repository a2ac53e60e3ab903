#pragma once

namespace openwit {
// `openwit [ROLE] [--config FILE]`, `openwit config check FILE`, `--help`, `--version`.
// Returns the process exit code: 0 ok, 1 runtime or config error, 2 usage error.
int RunCli(int argc, char** argv);
}  // namespace openwit
