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
    int64_t offsets[N];
    for (int64_t i = begin; i < end;) {
      int64_t len = std::min(inner - i % inner, end - i);
      ix.offsets(i, offsets);
      row(len, static_cast<const int64_t*>(offsets), static_cast<const int64_t*>(inner_strides));
      i += len;
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
