#pragma once
// What every fuzz target of this folder shares (README.md here says how they are built and run):
// a quiet, ASan-visible process, converters reused as the ingest node reuses them, and
// FUZZ_EXPECT, which turns a broken promise of the code under test into a crash that libFuzzer
// reports and keeps, like a sanitizer's report.

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <google/protobuf/stubs/logging.h>
#include <spdlog/spdlog.h>

#include "ingest/arrow_convert.h"

namespace openwit::fuzz {

// Called from LLVMFuzzerInitialize. Logging off (WAL recovery warns about every corrupt byte it
// skips, protobuf about every string that is not UTF-8); Arrow's buffers from the system allocator, which ASan watches,
// instead of the jemalloc or mimalloc bundled in the wheel, which it does not (must be set before Arrow's first
// allocation).
inline void InitializeTarget() {
  spdlog::set_level(spdlog::level::off);
  google::protobuf::SetLogHandler(nullptr);  // "String field ... contains invalid UTF-8 data": every refusal
  setenv("ARROW_DEFAULT_MEMORY_POOL", "system", /*overwrite=*/1);
}

// Aborts with the message when a promise the code makes does not hold for this input. A macro, so
// that the message (often a batch's ToString()) is only made when it is needed.
#define FUZZ_EXPECT(ok, ...)                                    \
  do {                                                          \
    if (!(ok)) ::openwit::fuzz::Fail(fmt::format(__VA_ARGS__)); \
  } while (false)

[[noreturn]] inline void Fail(const std::string& what) {
  std::fprintf(stderr, "\nopenwit fuzz: broken promise: %s\n", what.c_str());
  std::abort();
}

// A converter kept from input to input, as the ingest node keeps one per thread and signal (its
// builders stay warm, and reuse after Finish() is part of what is tested); `slot` tells apart the
// converters of one signal a target compares. Callers end every input with Finish().
inline ingest::ArrowConverter& ReusedConverter(ingest::Signal signal, int slot = 0) {
  static std::unique_ptr<ingest::ArrowConverter> converters[3][2];
  auto& c = converters[static_cast<int>(signal)][slot];
  if (!c) c = std::make_unique<ingest::ArrowConverter>(signal);
  return *c;
}

inline std::string_view AsText(const uint8_t* data, size_t size) { return {reinterpret_cast<const char*>(data), size}; }

}  // namespace openwit::fuzz
