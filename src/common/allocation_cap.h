#pragma once
// A bound on what one piece of work may allocate through Arrow, for work whose output size the
// input does not bound: converting a batch of tiny records that share huge resource attributes
// repeats those attributes on every row (1 MB of attributes on 100,000 records is 100 GB of Arrow).
//
// CappedMemoryPool() forwards to Arrow's default pool; while an AllocationCap lives on a thread,
// that thread's allocations through the pool are counted (growth only: frees do not give budget
// back) and one that would pass the cap fails with CapacityError instead of exhausting memory.
// Buffers may be freed on any thread, at any time: the pool lives as long as the process.

#include <cstdint>

#include <arrow/memory_pool.h>

namespace openwit {

arrow::MemoryPool* CappedMemoryPool();

class AllocationCap {
 public:
  explicit AllocationCap(int64_t max_bytes);
  ~AllocationCap();
  AllocationCap(const AllocationCap&) = delete;
  AllocationCap& operator=(const AllocationCap&) = delete;

  // True when an allocation was refused under this cap.
  bool exceeded() const { return exceeded_; }
  int64_t max_bytes() const { return max_bytes_; }

 private:
  friend class CappedPool;
  const int64_t max_bytes_;
  int64_t used_ = 0;
  bool exceeded_ = false;
  AllocationCap* outer_;
};

}  // namespace openwit
