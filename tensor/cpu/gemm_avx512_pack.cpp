// defines: the AVX-512 transposing packer: B panels from a source contiguous along k (attention's
// K^T, a Linear layer's weight used as W^T), which the baseline packer (gemm_pack.cpp) handles
// 4 x 4 at a time. For the small matrices of attention this copy rivals the arithmetic, so it is
// done as 16 x 16 (float) or 8 x 8 (double) register transposes: 64 or 24 shuffles per block.
#include <algorithm>

#include "tensor/cpu/gemm_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TRIP_AVX512 __attribute__((target("avx512f,avx512vl,fma"), always_inline)) inline

// GCC 12's shuffle intrinsics start from _mm512_undefined_ps(), which its headers initialise from
// itself: a false -Wmaybe-uninitialized at every inlined call (GCC bug 105593, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace trip::cpu::gemm_detail {
namespace {

// The last stage of both transposes. g[q][j] holds, in its 128-bit lane l, the values of source
// rows 4q..4q+3 (float) or 2q..2q+1 (double) at k = L*l + j (L = values per lane); out[L*l + j]
// gathers lane l of g[0..3][j], i.e. all 16 (8) rows at that k.
template <int L>
TRIP_AVX512 void gather_lanes(const __m512 (&g)[4][L], __m512 (&out)[4 * L]) {
  for (int j = 0; j < L; ++j) {
    const __m512 v = _mm512_shuffle_f32x4(g[0][j], g[1][j], 0x44);  // lanes 0,1 of g0 and g1
    const __m512 w = _mm512_shuffle_f32x4(g[2][j], g[3][j], 0x44);
    const __m512 v2 = _mm512_shuffle_f32x4(g[0][j], g[1][j], 0xEE);  // lanes 2,3
    const __m512 w2 = _mm512_shuffle_f32x4(g[2][j], g[3][j], 0xEE);
    out[0 * L + j] = _mm512_shuffle_f32x4(v, w, 0x88);  // lane 0 of g0..g3
    out[1 * L + j] = _mm512_shuffle_f32x4(v, w, 0xDD);
    out[2 * L + j] = _mm512_shuffle_f32x4(v2, w2, 0x88);
    out[3 * L + j] = _mm512_shuffle_f32x4(v2, w2, 0xDD);
  }
}

// r[i] = 16 floats of source row i; out[k] = the 16 rows' values at k.
TRIP_AVX512 void transpose(const __m512 (&r)[16], __m512 (&out)[16]) {
  __m512 g[4][4];
  for (int q = 0; q < 4; ++q) {
    const __m512 lo01 = _mm512_unpacklo_ps(r[4 * q], r[4 * q + 1]);
    const __m512 hi01 = _mm512_unpackhi_ps(r[4 * q], r[4 * q + 1]);
    const __m512 lo23 = _mm512_unpacklo_ps(r[4 * q + 2], r[4 * q + 3]);
    const __m512 hi23 = _mm512_unpackhi_ps(r[4 * q + 2], r[4 * q + 3]);
    const __m512d l01 = _mm512_castps_pd(lo01), l23 = _mm512_castps_pd(lo23);
    const __m512d h01 = _mm512_castps_pd(hi01), h23 = _mm512_castps_pd(hi23);
    g[q][0] = _mm512_castpd_ps(_mm512_unpacklo_pd(l01, l23));
    g[q][1] = _mm512_castpd_ps(_mm512_unpackhi_pd(l01, l23));
    g[q][2] = _mm512_castpd_ps(_mm512_unpacklo_pd(h01, h23));
    g[q][3] = _mm512_castpd_ps(_mm512_unpackhi_pd(h01, h23));
  }
  gather_lanes<4>(g, out);
}

// r[i] = 8 doubles of source row i; out[k] = the 8 rows' values at k.
TRIP_AVX512 void transpose(const __m512d (&r)[8], __m512d (&out)[8]) {
  __m512 g[4][2];
  for (int q = 0; q < 4; ++q) {
    g[q][0] = _mm512_castpd_ps(_mm512_unpacklo_pd(r[2 * q], r[2 * q + 1]));
    g[q][1] = _mm512_castpd_ps(_mm512_unpackhi_pd(r[2 * q], r[2 * q + 1]));
  }
  __m512 o[8];
  gather_lanes<2>(g, o);
  for (int k = 0; k < 8; ++k) out[k] = _mm512_castps_pd(o[k]);
}

template <typename T>
struct Vec;
template <>
struct Vec<float> {
  using Reg = __m512;
  static constexpr int kLanes = 16;
  TRIP_AVX512 static Reg zero() { return _mm512_setzero_ps(); }
  TRIP_AVX512 static Reg load(__mmask16 m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
  TRIP_AVX512 static void store(float* p, Reg v) { _mm512_storeu_ps(p, v); }
};
template <>
struct Vec<double> {
  using Reg = __m512d;
  static constexpr int kLanes = 8;
  TRIP_AVX512 static Reg zero() { return _mm512_setzero_pd(); }
  TRIP_AVX512 static Reg load(__mmask16 m, const double* p) {
    return _mm512_maskz_loadu_pd(__mmask8(m), p);
  }
  TRIP_AVX512 static void store(double* p, Reg v) { _mm512_storeu_pd(p, v); }
};

// Panels of W (a multiple of the lane count) over kc, from rows at src + w*s_w contiguous in k.
template <typename T, int W>
__attribute__((target("avx512f,avx512vl,fma"))) void pack(int64_t count, int64_t kc, const T* src,
                                                          int64_t s_w, T* dst) {
  using V = Vec<T>;
  constexpr int B = V::kLanes;  // block: B rows x B values of k
  for (int64_t q = 0; q * W < count; ++q) {
    const int64_t valid = std::min<int64_t>(W, count - q * W);
    const T* panel = src + q * W * s_w;
    T* out = dst + q * kc * W;
    for (int w0 = 0; w0 < W; w0 += B) {
      for (int64_t k0 = 0; k0 < kc; k0 += B) {
        const int kk = int(std::min<int64_t>(B, kc - k0));
        const __mmask16 mask = __mmask16((1u << kk) - 1);
        typename V::Reg r[B], t[B];
#pragma GCC unroll 16
        for (int i = 0; i < B; ++i)  // missing rows of a partial panel read as zeros
          r[i] = w0 + i < valid ? V::load(mask, panel + (w0 + i) * s_w + k0) : V::zero();
        transpose(r, t);
        if (kk == B) {
#pragma GCC unroll 16
          for (int k = 0; k < B; ++k) V::store(out + (k0 + k) * W + w0, t[k]);
        } else {
          for (int k = 0; k < kk; ++k) V::store(out + (k0 + k) * W + w0, t[k]);
        }
      }
    }
  }
}

}  // namespace

bool avx512_pack_transposed_f32(int width, int64_t count, int64_t kc, const float* src, int64_t s_w,
                                float* dst) {
  if (width == 16) return pack<float, 16>(count, kc, src, s_w, dst), true;
  if (width == 32) return pack<float, 32>(count, kc, src, s_w, dst), true;
  return false;
}

bool avx512_pack_transposed_f64(int width, int64_t count, int64_t kc, const double* src,
                                int64_t s_w, double* dst) {
  if (width == 8) return pack<double, 8>(count, kc, src, s_w, dst), true;
  if (width == 16) return pack<double, 16>(count, kc, src, s_w, dst), true;
  return false;
}

}  // namespace trip::cpu::gemm_detail

#endif
