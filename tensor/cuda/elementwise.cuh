// defines: elementwise_kernel and launch_elementwise<N>(), the one grid-stride loop behind every
// elementwise CUDA op (copy, fill, unary, binary, where). An op is a functor called with the N
// operands' element offsets; StridedIndex (tensor/strided_index.h, shared with the CPU kernels)
// turns the linear index into those offsets, and when every operand is contiguous the offsets
// are the linear index itself (no divisions).
#pragma once
#include <array>
#include <cstdint>

#include "tensor/cuda/launch.h"
#include "tensor/strided_index.h"

namespace trip::gpu {

template <int N, bool Contiguous, typename Fn>
__global__ void elementwise_kernel(int64_t n, StridedIndex<N> index, Fn fn) {
  int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t offsets[N];
    if constexpr (Contiguous) {
      for (int k = 0; k < N; ++k) offsets[k] = i;
    } else {
      index.offsets(i, offsets);
    }
    fn(offsets);
  }
}

// Runs fn(offsets) for every element of `shape`; strides[k] are operand k's strides (elements).
// The caller has made the operands' device current.
template <int N, typename Fn>
void launch_elementwise(const Dims& shape, const std::array<const Dims*, N>& strides,
                        const Fn& fn) {
  int64_t n = numel_of(shape);
  if (n == 0) return;
  StridedIndex<N> index = make_strided_index<N>(shape, strides);
  bool contiguous = index.ndim == 0;
  if (index.ndim == 1) {
    contiguous = true;
    for (int k = 0; k < N; ++k) contiguous = contiguous && index.strides[k][0] == 1;
  }
  if (contiguous) {
    elementwise_kernel<N, true, Fn><<<grid_size(n), kBlock>>>(n, index, fn);
  } else {
    elementwise_kernel<N, false, Fn><<<grid_size(n), kBlock>>>(n, index, fn);
  }
  TRIP_CUDA_CHECK_LAUNCH();
}

}  // namespace trip::gpu
