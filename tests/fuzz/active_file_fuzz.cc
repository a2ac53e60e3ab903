// The storage node's reader of active files (storage/active_file.h) over arbitrary bytes: what a
// crash, a full disk or a stray write can leave of an Arrow IPC stream. ActiveFile::Read gives the
// complete batches or an error, never a crash; the batches it gives are well formed (Finalize
// hands them to the Parquet writer as they are, and Arrow trusts a batch's offsets and lengths),
// and the Parquet writer takes them or refuses them with an error.
//
// Input: the bytes of an active file. Files go to /dev/shm when it exists.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include "fuzz_support.h"
#include "storage/active_file.h"
#include "storage/parquet_writer.h"

namespace openwit::fuzz {
namespace {

namespace fs = std::filesystem;

fs::path Root() {
  static const fs::path root = [] {
    std::error_code ec;
    const fs::path base = fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
    return base / ("openwit-fuzz-active-" + std::to_string(::getpid()));
  }();
  return root;
}

}  // namespace
}  // namespace openwit::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  using namespace openwit::fuzz;
  InitializeTarget();
  fs::create_directories(Root());
  std::atexit([] {
    std::error_code ec;
    fs::remove_all(Root(), ec);
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace openwit::fuzz;
  const std::string path = (Root() / "active.arrows").string();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    FUZZ_EXPECT(out.good(), "cannot write {}", path);
  }
  auto contents = openwit::storage::ActiveFile::Read(path);
  if (!contents.ok()) return 0;
  FUZZ_EXPECT(contents->batches.size() == contents->batch_ids.size(), "{} batches, {} ids", contents->batches.size(),
              contents->batch_ids.size());
  for (const auto& batch : contents->batches) {
    auto valid = batch->ValidateFull();
    FUZZ_EXPECT(valid.ok(), "ActiveFile::Read gives a malformed batch: {}", valid.ToString());
  }
  if (contents->batches.empty()) return 0;
  (void)openwit::storage::WriteStableParquet(contents->batches, contents->batches.front()->schema(),
                                             (Root() / "stable.parquet").string());
  return 0;
}
