#include "tensor/cuda/nvcc_fmt.h"

#include "tensor/cuda/allocator.h"

#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tensor/cuda/check.h"
#include "tensor/cuda/launch.h"
#include "tensor/error.h"

namespace trip::gpu {
namespace {

constexpr size_t kSmallLimit = size_t(1) << 20;  // 1 MiB
constexpr size_t kSmallRound = 512;
constexpr size_t kLargeRound = size_t(2) << 20;  // 2 MiB

size_t round_size(size_t n) {
  size_t unit = n <= kSmallLimit ? kSmallRound : kLargeRound;
  return (n + unit - 1) / unit * unit;
}

std::string format_bytes(size_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  if (n < (size_t(1) << 20)) return fmt::format("{:.2f} KiB", double(n) / 1024.0);
  if (n < (size_t(1) << 30)) return fmt::format("{:.2f} MiB", double(n) / double(1 << 20));
  return fmt::format("{:.2f} GiB", double(n) / double(1 << 30));
}

// Makes `device` current for a scope without ever throwing (used where errors cannot be raised:
// frees from destructors, possibly during process exit when the runtime is shutting down).
class QuietDeviceGuard {
 public:
  explicit QuietDeviceGuard(int device) : device_(device) {
    if (cudaGetDevice(&previous_) != cudaSuccess) previous_ = device;
    if (previous_ != device_) (void)cudaSetDevice(device_);
  }
  ~QuietDeviceGuard() {
    if (previous_ != device_) (void)cudaSetDevice(previous_);
  }

 private:
  int device_;
  int previous_ = 0;
};

void free_quietly(void* ptr, int device) noexcept {
  QuietDeviceGuard guard(device);
  cudaError_t err = cudaFree(ptr);
  // cudaErrorCudartUnloading: the runtime is already gone at exit, and so is the memory.
  if (err != cudaSuccess && err != cudaErrorCudartUnloading) {
    static bool reported = false;
    if (!reported) {
      reported = true;
      std::fprintf(stderr, "trip: cudaFree failed: %s (%s); later failures are not reported\n",
                   cudaGetErrorName(err), cudaGetErrorString(err));
    }
  }
  (void)cudaGetLastError();
}

}  // namespace

CachingAllocator& CachingAllocator::instance() {
  static CachingAllocator* allocator = new CachingAllocator();  // leaked on purpose
  return *allocator;
}

CachingAllocator::CachingAllocator() {
  const char* env = std::getenv("TRIP_CUDA_NO_CACHING");
  caching_ = !(env && std::strcmp(env, "1") == 0);
}

void* CachingAllocator::allocate(size_t nbytes, int device) {
  if (nbytes == 0) return nullptr;
  std::lock_guard<std::mutex> lock(mutex_);
  DeviceState& state = devices_[device];
  size_t size = caching_ ? round_size(nbytes) : nbytes;
  void* ptr = nullptr;
  size_t block_size = size;
  if (caching_) {
    auto it = state.free_blocks.lower_bound(size);
    if (it != state.free_blocks.end() && it->first <= size + size / 4) {
      block_size = it->first;
      ptr = it->second;
      state.free_blocks.erase(it);
    }
  }
  if (!ptr) ptr = malloc_or_throw(size, nbytes, device);
  live_.emplace(ptr, Block{block_size, device});
  state.stats.allocated += block_size;
  state.stats.peak = std::max(state.stats.peak, state.stats.allocated);
  return ptr;
}

void* CachingAllocator::malloc_or_throw(size_t size, size_t requested, int device) {
  DeviceGuard guard(device);
  DeviceState& state = devices_[device];
  void* ptr = nullptr;
  cudaError_t err = cudaMalloc(&ptr, size);
  if (err == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();  // out-of-memory is not sticky; clear it before retrying
    release_cached(device);
    err = cudaMalloc(&ptr, size);
  }
  if (err == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    size_t free_bytes = 0, total_bytes = 0;
    (void)cudaMemGetInfo(&free_bytes, &total_bytes);
    (void)cudaGetLastError();
    fail(
        "CUDA out of memory on cuda:{}: tried to allocate {} ({} bytes asked); {} allocated to "
        "tensors, {} reserved by the caching allocator; the device has {} free of {}",
        device, format_bytes(size), requested, format_bytes(state.stats.allocated),
        format_bytes(state.stats.reserved), format_bytes(free_bytes), format_bytes(total_bytes));
  }
  TRIP_CUDA_CHECK(err);
  state.stats.reserved += size;
  return ptr;
}

void CachingAllocator::release_cached(int device) {
  DeviceState& state = devices_[device];
  for (auto& [size, ptr] : state.free_blocks) {
    free_quietly(ptr, device);
    state.stats.reserved -= size;
  }
  state.free_blocks.clear();
}

void CachingAllocator::deallocate(void* ptr) noexcept {
  if (!ptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(ptr);
  if (it == live_.end()) {
    std::fprintf(stderr, "trip: CUDA allocator asked to free %p, which it did not allocate\n", ptr);
    return;
  }
  Block block = it->second;
  live_.erase(it);
  DeviceState& state = devices_[block.device];
  state.stats.allocated -= block.size;
  if (caching_) {
    state.free_blocks.emplace(block.size, ptr);
  } else {
    free_quietly(ptr, block.device);
    state.stats.reserved -= block.size;
  }
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& entry : devices_) release_cached(entry.first);
}

CudaMemoryStats CachingAllocator::stats(int device) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = devices_.find(device);
  return it == devices_.end() ? CudaMemoryStats{} : it->second.stats;
}

void CachingAllocator::reset_peak(int device) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = devices_.find(device);
  if (it != devices_.end()) it->second.stats.peak = it->second.stats.allocated;
}

}  // namespace trip::gpu

namespace trip {

CudaMemoryStats cuda_memory_stats(int device) {
  return gpu::CachingAllocator::instance().stats(device);
}

void cuda_reset_peak_memory_stats(int device) {
  gpu::CachingAllocator::instance().reset_peak(device);
}

void cuda_empty_cache() { gpu::CachingAllocator::instance().empty_cache(); }

}  // namespace trip
