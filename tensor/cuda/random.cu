#include "tensor/cuda/nvcc_fmt.h"

// defines: random, Philox uniform and normal numbers equal to the CPU's (tensor/cpu/random.cpp):
// element i uses counter block offset + i / 4, lane i % 4 (tensor/philox.h).
#include <cstdint>

#include "tensor/cuda/kernels.h"
#include "tensor/cuda/launch.h"
#include "tensor/dtype.h"
#include "tensor/philox.h"

namespace trip::gpu {
namespace {

// One thread per Philox block of 4 elements; philox::sample is the formula the CPU uses too.
template <typename T, typename C>
__global__ void random_kernel(T* out, int64_t n, uint64_t seed, uint64_t offset, bool normal, C a,
                              C b) {
  const int64_t blocks = (n + 3) / 4;
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t blk = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; blk < blocks; blk += step) {
    philox::Block bits = philox::generate(seed, offset + uint64_t(blk));
    for (int lane = 0; lane < 4 && blk * 4 + lane < n; ++lane) {
      out[blk * 4 + lane] = philox::sample<T, C>(bits, lane, normal, a, b);
    }
  }
}

}  // namespace

void random(RandomKind kind, const Tensor& out, uint64_t seed, uint64_t offset, double a,
            double b) {
  TRIP_CHECK(out.is_contiguous(), "random (cuda): out {} must be contiguous", out.shape());
  const int64_t n = out.numel();
  if (n == 0) return;
  DeviceGuard guard(out);
  dispatch_floating(out.dtype(), "random", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = typename decltype(tag)::compute;
    random_kernel<T, C><<<grid_size((n + 3) / 4), kBlock>>>(
        static_cast<T*>(out.data_ptr()), n, seed, offset, kind == RandomKind::normal, C(a), C(b));
    TRIP_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace trip::gpu
