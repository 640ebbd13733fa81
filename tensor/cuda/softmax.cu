#include "tensor/cuda/nvcc_fmt.h"

// defines: softmax and log_softmax along the middle axis of [outer, reduced, inner], numerically
// stable (the row maximum is subtracted before exp), computing in float (double for f64).
#include <cmath>
#include <cstdint>

#include "tensor/convert.h"
#include "tensor/cuda/kernels.h"
#include "tensor/cuda/launch.h"
#include "tensor/dtype.h"
#include "tensor/elementwise_math.h"

namespace trip::gpu {
namespace {

// float for f32 and the 16-bit floats, double for f64.
template <typename T>
using compute_t = typename dtype_traits<dtype_of<T>()>::compute;

// Every thread of the block passes its value; all get the block's result. A fixed tree over
// kBlock threads, so the result does not depend on scheduling.
template <typename C, typename Merge>
__device__ C block_reduce(C value, C* shared, Merge merge) {
  const int tid = threadIdx.x;
  shared[tid] = value;
  __syncthreads();
  for (int s = kBlock / 2; s > 0; s >>= 1) {
    if (tid < s) shared[tid] = merge(shared[tid], shared[tid + s]);
    __syncthreads();
  }
  C result = shared[0];
  __syncthreads();  // everyone has read shared[0] before the next call overwrites it
  return result;
}

template <typename C>
struct MaxOp {
  __device__ C operator()(C a, C b) const { return math::binary<BinaryOp::maximum, C>(a, b); }
};
template <typename C>
struct SumOp {
  __device__ C operator()(C a, C b) const { return a + b; }
};

// inner == 1: one block of kBlock threads per row (grid-stride over rows). A NaN in the row makes
// the row NaN; a row of -inf gives NaN (-inf - -inf), as in PyTorch.
template <typename T, bool Log>
__global__ void softmax_rows_kernel(const T* in, T* out, int64_t rows, int64_t n) {
  using C = compute_t<T>;
  __shared__ C shared[kBlock];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* x = in + row * n;
    T* y = out + row * n;
    C m = -C(INFINITY);
    for (int64_t r = threadIdx.x; r < n; r += kBlock) m = MaxOp<C>()(m, convert<C>(x[r]));
    m = block_reduce(m, shared, MaxOp<C>());
    C sum = 0;
    for (int64_t r = threadIdx.x; r < n; r += kBlock) sum += std::exp(convert<C>(x[r]) - m);
    sum = block_reduce(sum, shared, SumOp<C>());
    if constexpr (Log) {
      C log_sum = std::log(sum);
      for (int64_t r = threadIdx.x; r < n; r += kBlock)
        y[r] = convert<T>(convert<C>(x[r]) - m - log_sum);
    } else {
      for (int64_t r = threadIdx.x; r < n; r += kBlock) {
        y[r] = convert<T>(std::exp(convert<C>(x[r]) - m) / sum);
      }
    }
  }
}

// inner > 1: one thread per (outer, inner) column, looping over the reduced axis three times.
template <typename T, bool Log>
__global__ void softmax_columns_kernel(const T* in, T* out, int64_t outer, int64_t n,
                                       int64_t inner) {
  using C = compute_t<T>;
  int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t col = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; col < outer * inner;
       col += step) {
    int64_t o = col / inner, i = col % inner;
    const T* x = in + o * n * inner + i;
    T* y = out + o * n * inner + i;
    C m = -C(INFINITY);
    for (int64_t r = 0; r < n; ++r) m = MaxOp<C>()(m, convert<C>(x[r * inner]));
    C sum = 0;
    for (int64_t r = 0; r < n; ++r) sum += std::exp(convert<C>(x[r * inner]) - m);
    C log_sum = std::log(sum);
    for (int64_t r = 0; r < n; ++r) {
      C v = convert<C>(x[r * inner]) - m;
      y[r * inner] = convert<T>(Log ? v - log_sum : std::exp(v) / sum);
    }
  }
}

}  // namespace

void softmax(const Tensor& in, const Tensor& out, ReduceGeometry g, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  TRIP_CHECK(in.is_contiguous() && out.is_contiguous() && in.shape() == out.shape() &&
                 in.dtype() == out.dtype() && in.numel() == g.outer * g.reduced * g.inner,
             "{} (cuda): in {} {} and out {} {} must be contiguous, alike, with {}x{}x{} "
             "elements",
             name, in.dtype(), in.shape(), out.dtype(), out.shape(), g.outer, g.reduced, g.inner);
  if (in.numel() == 0) return;
  DeviceGuard guard(out);
  dispatch_floating(in.dtype(), name, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pin = static_cast<const T*>(in.data_ptr());
    T* pout = static_cast<T*>(out.data_ptr());
    if (g.inner == 1) {
      unsigned blocks = unsigned(std::min<int64_t>(g.outer, 65536));
      if (log) {
        softmax_rows_kernel<T, true><<<blocks, kBlock>>>(pin, pout, g.outer, g.reduced);
      } else {
        softmax_rows_kernel<T, false><<<blocks, kBlock>>>(pin, pout, g.outer, g.reduced);
      }
    } else {
      unsigned blocks = grid_size(g.outer * g.inner);
      if (log) {
        softmax_columns_kernel<T, true><<<blocks, kBlock>>>(pin, pout, g.outer, g.reduced, g.inner);
      } else {
        softmax_columns_kernel<T, false>
            <<<blocks, kBlock>>>(pin, pout, g.outer, g.reduced, g.inner);
      }
    }
    TRIP_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace trip::gpu
