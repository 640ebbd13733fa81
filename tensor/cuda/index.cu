#include "tensor/cuda/nvcc_fmt.h"

// defines: index_select, gather and scatter_add over a contiguous tensor viewed as
// [outer, size, inner] around `dim` (tensor/backend.h). Index values were checked by the op layer.
//
// scatter_add accumulates with atomics for f32, f64, bf16, f16, i32 and i64: fast, but the order
// of additions to one element (hence the float rounding) is not deterministic when an index
// repeats. TRIP_DETERMINISTIC=1 selects a kernel that sums each output element's contributions in
// index order instead (as the CPU does, so results match it bit for bit); it costs
// O(out elements x index size along dim). u8 and bool always take that kernel.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "tensor/convert.h"
#include "tensor/cuda/kernels.h"
#include "tensor/cuda/launch.h"
#include "tensor/dtype.h"

namespace trip::gpu {
namespace {

bool deterministic_requested() {
  static const bool on = [] {
    const char* env = std::getenv("TRIP_DETERMINISTIC");
    return env && std::strcmp(env, "1") == 0;
  }();
  return on;
}

// An unsigned type of `bytes` bytes: index_select and gather only move elements, so they are
// instantiated per element size rather than per dtype.
template <size_t Bytes>
struct Word;
template <>
struct Word<1> {
  using type = uint8_t;
};
template <>
struct Word<2> {
  using type = uint16_t;
};
template <>
struct Word<4> {
  using type = uint32_t;
};
template <>
struct Word<8> {
  using type = uint64_t;
};

template <typename Fn>
void dispatch_size(size_t bytes, Fn&& fn) {
  switch (bytes) {
    case 1:
      return fn(Word<1>{});
    case 2:
      return fn(Word<2>{});
    case 4:
      return fn(Word<4>{});
    case 8:
      return fn(Word<8>{});
  }
  fail("index (cuda): unsupported element size {}", bytes);
}

// out[o, j, i] = in[o, index[j], i]
template <typename E>
__global__ void index_select_kernel(const E* in, const int64_t* index, E* out, int64_t total,
                                    int64_t count, int64_t size, int64_t inner) {
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    int64_t i = e % inner, j = (e / inner) % count, o = e / (inner * count);
    out[e] = in[(o * size + index[j]) * inner + i];
  }
}

// out[o, k, i] = in[o, index[o, k, i], i]; out and index are [outer, count, inner].
template <typename E>
__global__ void gather_kernel(const E* in, const int64_t* index, E* out, int64_t total,
                              int64_t count, int64_t size, int64_t inner) {
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    int64_t i = e % inner, o = e / (inner * count);
    out[e] = in[(o * size + index[e]) * inner + i];
  }
}

__device__ void atomic_add(float* p, float v) { atomicAdd(p, v); }
__device__ void atomic_add(double* p, double v) { atomicAdd(p, v); }
__device__ void atomic_add(int32_t* p, int32_t v) { atomicAdd(p, v); }
__device__ void atomic_add(int64_t* p, int64_t v) {
  // Two's-complement addition is the same for signed and unsigned 64-bit words.
  atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
}
// bf16 / f16: a compare-and-swap loop on the 16-bit word; the sum is computed in float and
// rounded to nearest even by the same conversion every kernel uses (tensor/half.h).
template <typename H>
__device__ void atomic_add_half(H* p, H v) {
  unsigned short* word = reinterpret_cast<unsigned short*>(p);
  unsigned short old = *word;
  while (true) {
    H current;
    current.bits = old;
    H next(float(current) + float(v));
    unsigned short seen = atomicCAS(word, old, next.bits);
    if (seen == old) break;
    old = seen;
  }
}
__device__ void atomic_add(bf16* p, bf16 v) { atomic_add_half(p, v); }
__device__ void atomic_add(f16* p, f16 v) { atomic_add_half(p, v); }

// out[o, index[o, k, i], i] += src[o, k, i], one thread per src element.
template <typename T>
__global__ void scatter_add_atomic_kernel(T* out, const int64_t* index, const T* src, int64_t total,
                                          int64_t count, int64_t size, int64_t inner) {
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    int64_t i = e % inner, o = e / (inner * count);
    atomic_add(&out[(o * size + index[e]) * inner + i], src[e]);
  }
}

// One thread per out element, adding its contributions in index order: deterministic. The sum
// is rounded to T after every addition, as the CPU's sequential loop does.
template <typename T, typename C>
__global__ void scatter_add_ordered_kernel(T* out, const int64_t* index, const T* src,
                                           int64_t total, int64_t count, int64_t size,
                                           int64_t inner) {
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    int64_t i = e % inner, j = (e / inner) % size, o = e / (inner * size);
    T value = out[e];
    for (int64_t k = 0; k < count; ++k) {
      int64_t p = (o * count + k) * inner + i;
      if (index[p] != j) continue;
      if constexpr (std::is_same_v<T, bool>) {
        value = value || src[p];
      } else {
        value = convert<T>(convert<C>(value) + convert<C>(src[p]));
      }
    }
    out[e] = value;
  }
}

void check_contiguous(const char* op, const Tensor& a, const Tensor& b, const Tensor& index) {
  TRIP_CHECK(a.is_contiguous() && b.is_contiguous() && index.is_contiguous() &&
                 index.dtype() == DType::i64,
             "{} (cuda): tensors must be contiguous and the index i64 (got {} {}, {} {}, index {} "
             "{})",
             op, a.dtype(), a.shape(), b.dtype(), b.shape(), index.dtype(), index.shape());
}

}  // namespace

void index_select(const Tensor& in, int dim, const Tensor& index, const Tensor& out) {
  check_contiguous("index_select", in, out, index);
  const ReduceGeometry g = geometry_around(in.shape(), dim);
  const int64_t count = index.numel(), total = out.numel();
  TRIP_CHECK(in.dtype() == out.dtype() && total == g.outer * count * g.inner,
             "index_select (cuda): out {} {} does not fit in {} {} with {} indices", out.dtype(),
             out.shape(), in.dtype(), in.shape(), count);
  if (total == 0) return;
  DeviceGuard guard(out);
  dispatch_size(element_size(in.dtype()), [&](auto word) {
    using E = typename decltype(word)::type;
    index_select_kernel<E><<<grid_size(total), kBlock>>>(
        static_cast<const E*>(in.data_ptr()), static_cast<const int64_t*>(index.data_ptr()),
        static_cast<E*>(out.data_ptr()), total, count, g.reduced, g.inner);
    TRIP_CUDA_CHECK_LAUNCH();
  });
}

void gather(const Tensor& in, int dim, const Tensor& index, const Tensor& out) {
  check_contiguous("gather", in, out, index);
  const ReduceGeometry g = geometry_around(in.shape(), dim),
                       gi = geometry_around(index.shape(), dim);
  const int64_t total = out.numel();
  TRIP_CHECK(in.dtype() == out.dtype() && out.shape() == index.shape() && gi.outer == g.outer &&
                 gi.inner == g.inner,
             "gather (cuda): in {} {}, index {}, out {} {}: index must match in except along dim "
             "{}, and out must match index",
             in.dtype(), in.shape(), index.shape(), out.dtype(), out.shape(), dim);
  if (total == 0) return;
  DeviceGuard guard(out);
  dispatch_size(element_size(in.dtype()), [&](auto word) {
    using E = typename decltype(word)::type;
    gather_kernel<E><<<grid_size(total), kBlock>>>(
        static_cast<const E*>(in.data_ptr()), static_cast<const int64_t*>(index.data_ptr()),
        static_cast<E*>(out.data_ptr()), total, gi.reduced, g.reduced, g.inner);
    TRIP_CUDA_CHECK_LAUNCH();
  });
}

void scatter_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src) {
  check_contiguous("scatter_add", out, src, index);
  const ReduceGeometry g = geometry_around(out.shape(), dim),
                       gi = geometry_around(index.shape(), dim);
  TRIP_CHECK(out.dtype() == src.dtype() && src.shape() == index.shape() && gi.outer == g.outer &&
                 gi.inner == g.inner,
             "scatter_add (cuda): out {} {}, index {}, src {} {}: src must match index, and "
             "index must match out except along dim {}",
             out.dtype(), out.shape(), index.shape(), src.dtype(), src.shape(), dim);
  if (src.numel() == 0 || out.numel() == 0) return;
  DeviceGuard guard(out);
  const int64_t* pindex = static_cast<const int64_t*>(index.data_ptr());
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = typename decltype(tag)::compute;
    T* pout = static_cast<T*>(out.data_ptr());
    const T* psrc = static_cast<const T*>(src.data_ptr());
    constexpr bool kHasAtomic = !std::is_same_v<T, bool> && !std::is_same_v<T, uint8_t>;
    if (kHasAtomic && !deterministic_requested()) {
      if constexpr (kHasAtomic) {
        int64_t total = src.numel();
        scatter_add_atomic_kernel<T><<<grid_size(total), kBlock>>>(pout, pindex, psrc, total,
                                                                   gi.reduced, g.reduced, g.inner);
      }
    } else {
      int64_t total = out.numel();
      scatter_add_ordered_kernel<T, C>
          <<<grid_size(total), kBlock>>>(pout, pindex, psrc, total, gi.reduced, g.reduced, g.inner);
    }
    TRIP_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace trip::gpu
