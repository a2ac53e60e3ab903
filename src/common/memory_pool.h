#pragma once
// Which allocator Arrow uses. The pyarrow wheel's default pool is mimalloc, which hands freed pages
// back to the kernel eagerly: the ingest path builds and frees a batch's Arrow arrays for every
// batch, and paid ~8% of its CPU in page faults zeroing those pages again (ingest bench, perf).
// The "system" pool keeps them: +15% records/s in the same benchmark. It is the process's malloc,
// which for the binary and the benchmarks is jemalloc (CMakeLists.txt says why).

#include <cstdlib>

namespace openwit {

// Call first thing in main(), before anything touches Arrow: the default pool is chosen once, from
// ARROW_DEFAULT_MEMORY_POOL. A value the user set wins.
inline void PreferSystemArrowMemoryPool() { ::setenv("ARROW_DEFAULT_MEMORY_POOL", "system", /*overwrite=*/0); }

}  // namespace openwit
