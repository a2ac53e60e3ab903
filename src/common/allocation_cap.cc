#include "common/allocation_cap.h"

#include <arrow/status.h>

namespace openwit {
namespace {
thread_local AllocationCap* current_cap = nullptr;
}  // namespace

class CappedPool final : public arrow::MemoryPool {
 public:
  explicit CappedPool(arrow::MemoryPool* base) : base_(base) {}

  arrow::Status Allocate(int64_t size, int64_t alignment, uint8_t** out) override {
    ARROW_RETURN_NOT_OK(Charge(size));
    return base_->Allocate(size, alignment, out);
  }
  arrow::Status Reallocate(int64_t old_size, int64_t new_size, int64_t alignment, uint8_t** ptr) override {
    if (new_size > old_size) ARROW_RETURN_NOT_OK(Charge(new_size - old_size));
    return base_->Reallocate(old_size, new_size, alignment, ptr);
  }
  void Free(uint8_t* buffer, int64_t size, int64_t alignment) override { base_->Free(buffer, size, alignment); }
  void ReleaseUnused() override { base_->ReleaseUnused(); }
  int64_t bytes_allocated() const override { return base_->bytes_allocated(); }
  int64_t max_memory() const override { return base_->max_memory(); }
  int64_t total_bytes_allocated() const override { return base_->total_bytes_allocated(); }
  int64_t num_allocations() const override { return base_->num_allocations(); }
  std::string backend_name() const override { return base_->backend_name(); }

 private:
  static arrow::Status Charge(int64_t bytes) {
    AllocationCap* cap = current_cap;
    if (cap == nullptr) return arrow::Status::OK();
    if (cap->used_ + bytes > cap->max_bytes_) {
      cap->exceeded_ = true;
      return arrow::Status::CapacityError("allocation of ", bytes, " bytes past the cap of ", cap->max_bytes_,
                                          " bytes (", cap->used_, " used)");
    }
    cap->used_ += bytes;
    return arrow::Status::OK();
  }
  arrow::MemoryPool* base_;
};

arrow::MemoryPool* CappedMemoryPool() {
  static auto* pool = new CappedPool(arrow::default_memory_pool());  // never freed: buffers outlive anything
  return pool;
}

AllocationCap::AllocationCap(int64_t max_bytes) : max_bytes_(max_bytes), outer_(current_cap) { current_cap = this; }

AllocationCap::~AllocationCap() { current_cap = outer_; }

}  // namespace openwit
