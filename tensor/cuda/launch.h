// defines: DeviceGuard (makes a device current for a scope and restores the previous one),
// kBlock and grid_size() for grid-stride launches, and TRIP_CUDA_CHECK_LAUNCH(). Every kernel in
// tensor/cuda/ runs on the legacy default stream (stream 0), so launches, cudaMemcpy and cuBLAS
// calls are ordered among themselves without extra synchronisation.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "tensor/cuda/check.h"
#include "tensor/tensor.h"

namespace trip::gpu {

class DeviceGuard {
 public:
  explicit DeviceGuard(int device) : device_(device) {
    TRIP_CUDA_CHECK(cudaGetDevice(&previous_));
    if (previous_ != device_) TRIP_CUDA_CHECK(cudaSetDevice(device_));
  }
  explicit DeviceGuard(const Tensor& t) : DeviceGuard(t.device().index) {}
  ~DeviceGuard() {
    if (previous_ != device_) (void)cudaSetDevice(previous_);  // destructors must not throw
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int device_;
  int previous_ = 0;
};

// Threads per block of the elementwise and reduction kernels (a power of two: the reduction
// trees halve it).
inline constexpr int kBlock = 256;

// Blocks for a grid-stride loop over n items, kBlock per block. Capped: each thread then loops;
// 65536 blocks of 256 threads still fill any current GPU many times over.
inline unsigned grid_size(int64_t n, int block = kBlock) {
  int64_t blocks = (n + block - 1) / block;
  return unsigned(std::clamp<int64_t>(blocks, 1, 65536));
}

}  // namespace trip::gpu

// After every <<<...>>>: reports launch errors (bad configuration, missing kernel image) at the
// launch site. Errors during execution surface at the next synchronising call; run with
// CUDA_LAUNCH_BLOCKING=1 to get them here.
#define TRIP_CUDA_CHECK_LAUNCH() TRIP_CUDA_CHECK(cudaGetLastError())
