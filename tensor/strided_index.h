// defines: StridedIndex<N>, which maps the linear (row-major) index of an element of an N-operand
// elementwise op to each operand's storage offset, after merging dims that are contiguous for all
// operands. Shared by the CPU and CUDA elementwise kernels.
#pragma once
#include <array>
#include <cstdint>

#include "tensor/dims.h"
#include "tensor/macros.h"

namespace trip {

template <int N>
struct StridedIndex {
  int ndim = 0;                  // after merging; 0 means a single element
  int64_t sizes[kMaxDims];       // innermost last
  int64_t strides[N][kMaxDims];  // in elements

  TRIP_HD void offsets(int64_t linear, int64_t* out) const {
    for (int k = 0; k < N; ++k) out[k] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      int64_t idx = linear % sizes[d];
      linear /= sizes[d];
      for (int k = 0; k < N; ++k) out[k] += idx * strides[k][d];
    }
  }
  int64_t inner_size() const { return ndim ? sizes[ndim - 1] : 1; }
  int64_t inner_stride(int k) const { return ndim ? strides[k][ndim - 1] : 0; }
};

// Builds the index for operands of the same `shape` with the given strides, dropping size-1 dims
// and merging neighbours that are contiguous with each other in every operand.
template <int N>
StridedIndex<N> make_strided_index(const Dims& shape, const std::array<const Dims*, N>& strides) {
  StridedIndex<N> ix;
  for (int d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = ix.ndim > 0;
    for (int k = 0; k < N && merge; ++k) {
      merge = ix.strides[k][ix.ndim - 1] == (*strides[k])[d] * shape[d];
    }
    if (merge) {
      ix.sizes[ix.ndim - 1] *= shape[d];
      for (int k = 0; k < N; ++k) ix.strides[k][ix.ndim - 1] = (*strides[k])[d];
    } else {
      ix.sizes[ix.ndim] = shape[d];
      for (int k = 0; k < N; ++k) ix.strides[k][ix.ndim] = (*strides[k])[d];
      ++ix.ndim;
    }
  }
  return ix;
}

}  // namespace trip
