// defines: for_each_row, the strided loop under every CPU elementwise kernel. It splits the
// elements into fixed chunks (parallel_for), and within a chunk walks "rows" of the innermost
// merged dim, handing the kernel each row's operand offsets: the kernel's inner loop then sees
// plain strides, and a unit-stride row becomes a loop the compiler vectorises.
#pragma once
#include <algorithm>

#include "tensor/cpu/parallel.h"
#include "tensor/strided_index.h"
#include "tensor/tensor.h"

namespace trip::cpu {

// row(len, offsets, inner_strides): process `len` elements of a row starting at the given
// per-operand offsets (elements), stepping by inner_strides.
template <int N, typename RowFn>
void for_each_row(const Dims& shape, const std::array<const Tensor*, N>& operands, RowFn&& row) {
  std::array<const Dims*, N> strides;
  for (int k = 0; k < N; ++k) strides[k] = &operands[k]->strides();
  StridedIndex<N> ix = make_strided_index<N>(shape, strides);
  int64_t total = numel_of(shape);
  int64_t inner = ix.inner_size();
  int64_t inner_strides[N];
  for (int k = 0; k < N; ++k) inner_strides[k] = ix.inner_stride(k);
  parallel_for(total, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    // Offsets from the linear index once per chunk (divisions per dim), then row to row by an
    // odometer over the outer dims: short rows (a permute of heads of 8 floats) cost ~2x less.
    int64_t offsets[N], coord[kMaxDims];
    ix.offsets(begin, offsets);
    int64_t rest = begin / inner, pos = begin % inner;
    for (int d = ix.ndim - 2; d >= 0; --d) coord[d] = rest % ix.sizes[d], rest /= ix.sizes[d];
    for (int64_t i = begin;;) {
      int64_t len = std::min(inner - pos, end - i);
      row(len, static_cast<const int64_t*>(offsets), static_cast<const int64_t*>(inner_strides));
      i += len;
      if (i >= end) break;
      for (int k = 0; k < N; ++k) offsets[k] -= pos * inner_strides[k];  // back to the row start
      pos = 0;
      for (int d = ix.ndim - 2; d >= 0; --d) {  // the next row
        for (int k = 0; k < N; ++k) offsets[k] += ix.strides[k][d];
        if (++coord[d] < ix.sizes[d]) break;
        for (int k = 0; k < N; ++k) offsets[k] -= ix.sizes[d] * ix.strides[k][d];
        coord[d] = 0;
      }
    }
  });
}

// True when every operand steps by 1 along the row (the vectorisable case).
template <int N>
bool unit_strides(const int64_t* strides) {
  for (int k = 0; k < N; ++k)
    if (strides[k] != 1) return false;
  return true;
}

}  // namespace trip::cpu
