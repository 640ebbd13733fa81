// CPU index_select, gather and scatter_add over a contiguous input viewed as [outer, size, inner]
// around `dim`. Indices were validated by the op layer. scatter_add runs in index order within
// each outer slice, so repeated indices accumulate deterministically.
#include <cstring>

#include "tensor/cpu/kernels.h"
#include "tensor/cpu/parallel.h"

namespace trip::cpu {

void index_select(const Tensor& in, int dim, const Tensor& index, const Tensor& out) {
  ReduceGeometry g = geometry_around(in.shape(), dim);
  int64_t count = index.numel();
  const int64_t* idx = index.data<int64_t>();
  size_t row_bytes = size_t(g.inner) * element_size(in.dtype());
  const char* src = static_cast<const char*>(in.data_ptr());
  char* dst = static_cast<char*>(out.data_ptr());
  parallel_for(g.outer * count, std::max<int64_t>(1, kElementwiseGrain / g.inner),
               [&](int64_t p0, int64_t p1) {
                 for (int64_t p = p0; p < p1; ++p) {
                   int64_t o = p / count, j = p % count;
                   std::memcpy(dst + p * row_bytes, src + (o * g.reduced + idx[j]) * row_bytes,
                               row_bytes);
                 }
               });
}

void gather(const Tensor& in, int dim, const Tensor& index, const Tensor& out) {
  ReduceGeometry g = geometry_around(in.shape(), dim);
  ReduceGeometry gi = geometry_around(index.shape(), dim);
  const int64_t* idx = index.data<int64_t>();
  dispatch_dtype(in.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* x = static_cast<const T*>(in.data_ptr());
    T* y = static_cast<T*>(out.data_ptr());
    parallel_for(out.numel(), kElementwiseGrain, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        int64_t i = p % gi.inner, o = p / (gi.inner * gi.reduced);
        y[p] = x[(o * g.reduced + idx[p]) * g.inner + i];
      }
    });
  });
}

void scatter_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src) {
  ReduceGeometry g = geometry_around(out.shape(), dim);
  ReduceGeometry gi = geometry_around(index.shape(), dim);
  const int64_t* idx = index.data<int64_t>();
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = typename decltype(tag)::compute;
    T* y = static_cast<T*>(out.data_ptr());
    const T* s = static_cast<const T*>(src.data_ptr());
    // Parallel over outer slices only: each output element is written by one thread, in order.
    parallel_for(gi.outer, 1, [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) {
        for (int64_t j = 0; j < gi.reduced; ++j) {
          for (int64_t i = 0; i < gi.inner; ++i) {
            int64_t p = (o * gi.reduced + j) * gi.inner + i;
            T& target = y[(o * g.reduced + idx[p]) * g.inner + i];
            if constexpr (std::is_same_v<T, bool>)
              target = target || s[p];
            else
              target = T(C(target) + C(s[p]));
          }
        }
      }
    });
  });
}

}  // namespace trip::cpu
