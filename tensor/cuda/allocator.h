// defines: CachingAllocator, the device-memory allocator behind CudaBackend::allocate, and
// DeviceBuffer, a scoped temporary from it (kernels' scratch space).
//
// Freed blocks go to per-device free lists keyed by size instead of back to cudaFree, because
// cudaMalloc/cudaFree are slow and cudaFree synchronises the device. Sizes are rounded up (to
// 512 B below 1 MiB, to multiples of 2 MiB above) so blocks are reusable; a request takes the
// smallest cached block of at least its rounded size and at most 1.25 times it. Blocks are never
// split. Reusing a block freed while a kernel may still read it is safe because all our work runs
// on one stream (the default stream): the next user's kernels queue behind the earlier ones.
//
// TRIP_CUDA_NO_CACHING=1 turns caching off: requests are not rounded and every free goes straight
// to cudaFree, so compute-sanitizer sees each tensor's exact bounds and every use after free.
#pragma once
#include <cstddef>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "tensor/cuda_memory.h"

namespace trip::gpu {

class CachingAllocator {
 public:
  // The process-wide allocator (never destroyed, so tensors freed during static destruction
  // still find it).
  static CachingAllocator& instance();

  // nbytes on `device` (0 bytes gives nullptr). On cudaMalloc out-of-memory it empties this
  // device's cache and retries once, then raises an Error with the sizes involved.
  void* allocate(size_t nbytes, int device);
  // Returns a block from allocate (nullptr is ignored). Never throws: it runs in destructors.
  void deallocate(void* ptr) noexcept;
  // cudaFree of every cached block on every device.
  void empty_cache();
  CudaMemoryStats stats(int device);
  // peak = allocated on `device`.
  void reset_peak(int device);
  bool caching() const { return caching_; }

 private:
  CachingAllocator();
  struct Block {
    size_t size;
    int device;
  };
  struct DeviceState {
    std::multimap<size_t, void*> free_blocks;  // size -> pointer
    CudaMemoryStats stats;
  };
  void* malloc_or_throw(size_t size, size_t requested, int device);  // mutex held
  void release_cached(int device);                                   // mutex held

  bool caching_ = true;
  std::mutex mutex_;
  std::unordered_map<void*, Block> live_;
  std::unordered_map<int, DeviceState> devices_;
};

// Device scratch memory for the length of a scope (e.g. a contiguous copy of a matmul operand).
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(size_t nbytes, int device)
      : ptr_(CachingAllocator::instance().allocate(nbytes, device)) {}
  ~DeviceBuffer() { CachingAllocator::instance().deallocate(ptr_); }
  DeviceBuffer(DeviceBuffer&& other) noexcept : ptr_(other.ptr_) { other.ptr_ = nullptr; }
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    std::swap(ptr_, other.ptr_);
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void* get() const { return ptr_; }

 private:
  void* ptr_ = nullptr;
};

}  // namespace trip::gpu
