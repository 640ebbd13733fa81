// defines: pack_panels, the copy of a block of A or B into the k-major panels the micro-kernels
// read (layout in gemm_kernels.h). Compiled for the baseline instruction set (SSE2 on x86-64):
// packing is a small share of the time once the two common layouts have fast paths:
//  - contiguous along the panel (row-major B, column-major A): one short copy per k;
//  - contiguous along k (row-major A, transposed B such as attention's K^T or a Linear weight):
//    a transpose, done in 4x4 (float) or 2x2 (double) register blocks.
// Partial panels take the same paths, reading zeros for their missing rows.
#include <algorithm>
#include <cstdint>

#include "tensor/cpu/gemm_kernels.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace trip::cpu::gemm_detail {
namespace {

// Stands in for the missing rows of a partial panel in the transposing path.
constexpr int64_t kZeroRow = 1024;
template <typename T>
alignas(64) constexpr T kZeros[kZeroRow] = {};

// dst[k*W + w] = rows[w][k] for w in [w0, w0 + B), k in [k0, k0 + B): one B x B block.
template <typename T, int W>
inline void transpose_block(const T* const* rows, int w0, int64_t k0, T* dst) {
#if defined(__SSE2__)
  if constexpr (sizeof(T) == 4) {
    __m128 r0 = _mm_loadu_ps(rows[w0] + k0), r1 = _mm_loadu_ps(rows[w0 + 1] + k0);
    __m128 r2 = _mm_loadu_ps(rows[w0 + 2] + k0), r3 = _mm_loadu_ps(rows[w0 + 3] + k0);
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
    _mm_storeu_ps(dst + (k0 + 0) * W + w0, r0);
    _mm_storeu_ps(dst + (k0 + 1) * W + w0, r1);
    _mm_storeu_ps(dst + (k0 + 2) * W + w0, r2);
    _mm_storeu_ps(dst + (k0 + 3) * W + w0, r3);
  } else {
    const __m128d r0 = _mm_loadu_pd(rows[w0] + k0), r1 = _mm_loadu_pd(rows[w0 + 1] + k0);
    _mm_storeu_pd(dst + (k0 + 0) * W + w0, _mm_unpacklo_pd(r0, r1));
    _mm_storeu_pd(dst + (k0 + 1) * W + w0, _mm_unpackhi_pd(r0, r1));
  }
#else
  constexpr int B = sizeof(T) == 4 ? 4 : 2;
  for (int w = w0; w < w0 + B; ++w)
    for (int64_t k = k0; k < k0 + B; ++k) dst[k * W + w] = rows[w][k];
#endif
}

// One panel of W rows/columns (those >= valid are zero) over kc steps of the sum.
template <typename T, int W>
void pack_panel(int64_t valid, int64_t kc, const T* src, int64_t s_w, int64_t s_k, T* dst) {
  if (s_w == 1) {
    for (int64_t k = 0; k < kc; ++k) {
      const T* s = src + k * s_k;
      T* d = dst + k * W;
      if (valid == W) {
#pragma GCC unroll 64
        for (int w = 0; w < W; ++w) d[w] = s[w];
      } else {
        for (int w = 0; w < W; ++w) d[w] = w < valid ? s[w] : T(0);
      }
    }
  } else if (s_k == 1 && kc <= kZeroRow) {
    const T* rows[W];
    for (int w = 0; w < W; ++w) rows[w] = w < valid ? src + w * s_w : kZeros<T>;
    constexpr int B = sizeof(T) == 4 ? 4 : 2;  // values per 16-byte register
    constexpr int WB = W / B * B;
    int64_t k = 0;
    for (; k + B <= kc; k += B) {
#pragma GCC unroll 16
      for (int w = 0; w < WB; w += B) transpose_block<T, W>(rows, w, k, dst);
      for (int w = WB; w < W; ++w)
        for (int64_t kk = k; kk < k + B; ++kk) dst[kk * W + w] = rows[w][kk];
    }
    for (; k < kc; ++k)
      for (int w = 0; w < W; ++w) dst[k * W + w] = rows[w][k];
  } else {  // general strides
    for (int64_t k = 0; k < kc; ++k) {
      for (int64_t w = 0; w < valid; ++w) dst[k * W + w] = src[w * s_w + k * s_k];
      for (int64_t w = valid; w < W; ++w) dst[k * W + w] = T(0);
    }
  }
}

template <typename T, int W>
void pack_all(int64_t count, int64_t kc, const T* src, int64_t s_w, int64_t s_k, T* dst) {
  for (int64_t q = 0; q * W < count; ++q) {
    const int64_t valid = std::min<int64_t>(W, count - q * W);
    pack_panel<T, W>(valid, kc, src + q * W * s_w, s_w, s_k, dst + q * kc * W);
  }
}

}  // namespace

template <typename T>
void pack_panels(int width, int64_t count, int64_t kc, const T* src, int64_t s_w, int64_t s_k,
                 T* dst) {
  switch (width) {  // the widths the kernel sets use
    case 4:
      return pack_all<T, 4>(count, kc, src, s_w, s_k, dst);
    case 6:
      return pack_all<T, 6>(count, kc, src, s_w, s_k, dst);
    case 8:
      return pack_all<T, 8>(count, kc, src, s_w, s_k, dst);
    case 12:
      return pack_all<T, 12>(count, kc, src, s_w, s_k, dst);
    case 16:
      return pack_all<T, 16>(count, kc, src, s_w, s_k, dst);
    case 32:
      return pack_all<T, 32>(count, kc, src, s_w, s_k, dst);
  }
  __builtin_trap();  // a kernel set with a width missing above: add it
}

template void pack_panels<float>(int, int64_t, int64_t, const float*, int64_t, int64_t, float*);
template void pack_panels<double>(int, int64_t, int64_t, const double*, int64_t, int64_t, double*);

}  // namespace trip::cpu::gemm_detail
