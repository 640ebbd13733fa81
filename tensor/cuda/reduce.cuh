// defines: reduce_rows_kernel and reduce_columns_kernel, the two deterministic reduction loops
// over the [outer, reduced, inner] geometry of a contiguous input (tensor/backend.h), shared by
// the reductions and arg-reductions of reduce.cu. A policy P supplies the state S, init(),
// load(input offset, r), merge(s, t) and store(output offset, s).
//
// No atomics: each output is reduced by one block (rows) or one column of a block (columns), each
// thread combining a fixed strided subset in a fixed order, then a fixed shared-memory tree. The
// result depends only on the shape and the block size, never on scheduling.
#pragma once
#include <cstdint>

#include "tensor/cuda/launch.h"

namespace trip::gpu {

// inner == 1: one block per output (grid-stride over the outer rows); blockDim.x is a power of
// two of at most kBlock.
template <typename P>
__global__ void reduce_rows_kernel(P p, int64_t outer, int64_t reduced) {
  using S = typename P::State;
  __shared__ S shared[kBlock];
  const int tid = threadIdx.x;
  for (int64_t o = blockIdx.x; o < outer; o += gridDim.x) {
    S acc = p.init();
    for (int64_t r = tid; r < reduced; r += blockDim.x)
      acc = p.merge(acc, p.load(o * reduced + r, r));
    shared[tid] = acc;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
      if (tid < s) shared[tid] = p.merge(shared[tid], shared[tid + s]);
      __syncthreads();
    }
    if (tid == 0) p.store(o, shared[0]);
    __syncthreads();  // shared[0] is read before the next row overwrites it
  }
}

// inner > 1: a block of kColumnsX x kColumnsY threads handles kColumnsX neighbouring outputs
// (coalesced loads along inner); the kColumnsY threads of a column split the reduced axis.
inline constexpr int kColumnsX = 32;
inline constexpr int kColumnsY = 8;

template <typename P>
__global__ void reduce_columns_kernel(P p, int64_t outer, int64_t reduced, int64_t inner) {
  using S = typename P::State;
  __shared__ S shared[kColumnsY][kColumnsX];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t tiles_per_row = (inner + kColumnsX - 1) / kColumnsX;
  for (int64_t tile = blockIdx.x; tile < outer * tiles_per_row; tile += gridDim.x) {
    int64_t o = tile / tiles_per_row;
    int64_t i = (tile % tiles_per_row) * kColumnsX + tx;
    S acc = p.init();
    if (i < inner) {
      for (int64_t r = ty; r < reduced; r += kColumnsY) {
        acc = p.merge(acc, p.load((o * reduced + r) * inner + i, r));
      }
    }
    shared[ty][tx] = acc;
    __syncthreads();
    for (int s = kColumnsY / 2; s > 0; s >>= 1) {
      if (ty < s) shared[ty][tx] = p.merge(shared[ty][tx], shared[ty + s][tx]);
      __syncthreads();
    }
    if (ty == 0 && i < inner) p.store(o * inner + i, shared[0][tx]);
    __syncthreads();
  }
}

// Launches the right kernel for geometry (outer, reduced, inner); the caller set the device.
template <typename P>
void launch_reduce(const P& p, int64_t outer, int64_t reduced, int64_t inner) {
  if (outer * inner == 0) return;
  if (inner == 1) {
    int threads = 32;  // a power of two from 32 to kBlock, so short rows leave fewer idle threads
    while (threads < kBlock && threads < reduced) threads *= 2;
    unsigned blocks = unsigned(std::min<int64_t>(outer, 65536));
    reduce_rows_kernel<P><<<blocks, threads>>>(p, outer, reduced);
  } else {
    int64_t tiles = outer * ((inner + kColumnsX - 1) / kColumnsX);
    unsigned blocks = unsigned(std::min<int64_t>(tiles, 65536));
    reduce_columns_kernel<P><<<blocks, dim3(kColumnsX, kColumnsY)>>>(p, outer, reduced, inner);
  }
  TRIP_CUDA_CHECK_LAUNCH();
}

}  // namespace trip::gpu
