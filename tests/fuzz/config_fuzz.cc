// The config loader (common/config.h) over arbitrary YAML text: a precise error or a config,
// never a crash; and a config it accepts is written back (EffectiveConfigYaml, what `openwit
// config effective` prints) as YAML that loads again to the same config.
//
// Input: the text of a config file. ${SET} and ${SET_EMPTY} are set in its environment (to "x"
// and ""), every other variable is unset.

#include <cstddef>
#include <cstdint>

#include "common/config.h"
#include "fuzz_support.h"

namespace openwit::fuzz {
namespace {

std::optional<std::string> Environment(const std::string& name) {
  if (name == "SET") return "x";
  if (name == "SET_EMPTY") return "";
  return std::nullopt;
}

}  // namespace
}  // namespace openwit::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  openwit::fuzz::InitializeTarget();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace openwit::fuzz;
  auto loaded = openwit::LoadConfigString(AsText(data, size), "fuzz.yaml", Environment);
  if (!loaded.ok()) {
    FUZZ_EXPECT(loaded.status().IsInvalid(), "not an Invalid: {}", loaded.status().ToString());
    return 0;
  }
  const std::string effective = openwit::EffectiveConfigYaml(loaded->config);
  auto reloaded = openwit::LoadConfigString(effective, "effective.yaml", Environment);
  FUZZ_EXPECT(reloaded.ok(), "the effective config does not load again: {}\n{}", reloaded.status().ToString(),
              effective);
  const std::string again = openwit::EffectiveConfigYaml(reloaded->config);
  FUZZ_EXPECT(again == effective, "the effective config changes when loaded again:\n{}\n---\n{}", effective, again);
  return 0;
}
