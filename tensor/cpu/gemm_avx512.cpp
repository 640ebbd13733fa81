// defines: the AVX-512 GEMM micro-kernels (f32 and f64). Compiled with a target attribute, not a
// compiler flag, so one binary runs everywhere and gemm.cpp picks them only where the CPU has
// AVX-512 (__builtin_cpu_supports).
//
// Tile: R <= MR rows x NV vectors of columns. C rows are contiguous, so vectors run along N: per
// k the kernel loads NV vectors of a B row and broadcasts R values of an A column, i.e. R*NV FMAs
// for NV + R loads. The wide tile, 12 x 2 vectors, keeps 24 accumulators in the 32 zmm registers:
// enough independent chains to hide the FMA latency (4 cycles) on two 512-bit FMA pipes (Zen 4/5,
// Sapphire Rapids), with room for the B vectors. Measured on Zen 5 it runs at ~90% of peak; 14 x 2,
// 6 x 4 and 8 x 3 were no faster, and 12 x 2 wastes less on narrow C than 6 x 4.
// B loads and C stores are masked to the tile's n columns: no scalar tail, and B can be read in
// place without padding.
#include "tensor/cpu/gemm_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TRIP_AVX512 __attribute__((target("avx512f,avx512vl,fma"), always_inline)) inline

namespace trip::cpu::gemm_detail {
namespace {

// The few vector operations the kernels need, for each element type.
template <typename T>
struct Vec;

template <>
struct Vec<float> {
  using Reg = __m512;
  using Mask = __mmask16;
  static constexpr int kLanes = 16;
  TRIP_AVX512 static Reg zero() { return _mm512_setzero_ps(); }
  TRIP_AVX512 static Reg broadcast(const float* p) { return _mm512_set1_ps(*p); }
  TRIP_AVX512 static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  TRIP_AVX512 static Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
  TRIP_AVX512 static Reg load_masked(Mask m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
  TRIP_AVX512 static void store_masked(float* p, Mask m, Reg v) { _mm512_mask_storeu_ps(p, m, v); }
};

template <>
struct Vec<double> {
  using Reg = __m512d;
  using Mask = __mmask8;
  static constexpr int kLanes = 8;
  TRIP_AVX512 static Reg zero() { return _mm512_setzero_pd(); }
  TRIP_AVX512 static Reg broadcast(const double* p) { return _mm512_set1_pd(*p); }
  TRIP_AVX512 static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_pd(a, b, c); }
  TRIP_AVX512 static Reg add(Reg a, Reg b) { return _mm512_add_pd(a, b); }
  TRIP_AVX512 static Reg load_masked(Mask m, const double* p) {
    return _mm512_maskz_loadu_pd(m, p);
  }
  TRIP_AVX512 static void store_masked(double* p, Mask m, Reg v) { _mm512_mask_storeu_pd(p, m, v); }
};

// Lane masks of the NV column vectors for the first n columns of a tile.
template <typename T, int NV>
TRIP_AVX512 void column_masks(int n, typename Vec<T>::Mask (&masks)[NV]) {
  using V = Vec<T>;
  for (int v = 0; v < NV; ++v) {
    const int cols = n - v * V::kLanes;
    masks[v] = cols >= V::kLanes ? typename V::Mask(~0u)
               : cols > 0        ? typename V::Mask((1u << cols) - 1)
                                 : typename V::Mask(0);
  }
}

// Writes the accumulators to rows < m, masked columns of C (no tail loop, and nothing outside
// the tile is touched).
template <typename T, int MR, int NV>
TRIP_AVX512 void store_tile(typename Vec<T>::Reg (&acc)[MR][NV],
                            const typename Vec<T>::Mask (&masks)[NV], T* c, int64_t c_rs, int m,
                            bool add) {
  using V = Vec<T>;
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i) {
    if (i >= m) break;
    T* row = c + i * c_rs;
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      typename V::Reg r = acc[i][v];
      if (add) r = V::add(V::load_masked(masks[v], row + v * V::kLanes), r);
      V::store_masked(row + v * V::kLanes, masks[v], r);
    }
  }
}

// Brings the C tile towards L1 while the k loop runs: it is read and written right after, and
// C rows are far apart (a row stride of 2^n bytes maps them all to the same few cache sets).
template <typename T, int NV>
TRIP_AVX512 void prefetch_tile(const T* c, int64_t c_rs, int m) {
  for (int i = 0; i < m; ++i) {
    const char* row = reinterpret_cast<const char*>(c + i * c_rs);
    for (int v = 0; v < NV; ++v) _mm_prefetch(row + 64 * v, _MM_HINT_T0);  // one zmm: 64 bytes
    _mm_prefetch(row + 64 * NV - 1, _MM_HINT_T0);  // the row's last line, if C is unaligned
  }
}

// One tile of R rows: A packed (a[k*MR + i], kPackedA) or read in place (a[i*a_rs + k]; rows >= m
// repeat row m-1 so nothing past the matrix is read), B at b[k*b_rs + j], loads masked to j < n.
template <typename T, int MR, int R, int NV, bool kPackedA>
__attribute__((target("avx512f,avx512vl,fma"))) void kernel(int64_t kc, const T* a, int64_t a_rs,
                                                            const T* b, int64_t b_rs, T* c,
                                                            int64_t c_rs, int m, int n, bool add) {
  using V = Vec<T>;
  typename V::Mask masks[NV];
  column_masks<T, NV>(n, masks);
  const T* rows[R];
  for (int i = 0; i < R; ++i) rows[i] = a + (i < m ? i : m - 1) * a_rs;
  typename V::Reg acc[R][NV];
#pragma GCC unroll 32
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[i][v] = V::zero();
  prefetch_tile<T, NV>(c, c_rs, m);
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; ++k) {
    typename V::Reg bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bv[v] = V::load_masked(masks[v], b + v * V::kLanes);
#pragma GCC unroll 32
    for (int i = 0; i < R; ++i) {
      const typename V::Reg av = V::broadcast(kPackedA ? a + k * MR + i : rows[i] + k);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[i][v] = V::fma(av, bv[v], acc[i][v]);
    }
    b += b_rs;
  }
  store_tile<T, R, NV>(acc, masks, c, c_rs, m, add);
}

template <typename T, int MR, int NV>
Tile<T> tile() {
  static_assert(MR % 3 == 0);
  constexpr int R1 = MR / 3, R2 = 2 * MR / 3;
  return {
      {kernel<T, MR, R1, NV, true>, kernel<T, MR, R2, NV, true>, kernel<T, MR, MR, NV, true>},
      {kernel<T, MR, R1, NV, false>, kernel<T, MR, R2, NV, false>, kernel<T, MR, MR, NV, false>},
      MR,
      NV * Vec<T>::kLanes,
      true};
}

}  // namespace

// 12 x 32 floats (12 x 16 doubles) wide, 12 x 16 floats (12 x 8 doubles) narrow. Blocking for
// Zen 4/5-class caches (48 KiB L1d, 1 MiB L2), tuned on Zen 5: the kc x nr B micro-panel (32 KiB)
// fits L1 beside the streamed A panel, the A block (192 KiB) sits in L2, the B block in L3.
KernelSet<float> avx512_kernels_f32() {
  return {tile<float, 12, 2>(), tile<float, 12, 1>(), 256, 192, 2048, avx512_pack_transposed_f32};
}

KernelSet<double> avx512_kernels_f64() {
  return {tile<double, 12, 2>(), tile<double, 12, 1>(), 256, 96, 1024, avx512_pack_transposed_f64};
}

}  // namespace trip::cpu::gemm_detail

#else  // not x86: no AVX-512 kernels

namespace trip::cpu::gemm_detail {
KernelSet<float> avx512_kernels_f32() { return {}; }
KernelSet<double> avx512_kernels_f64() { return {}; }
}  // namespace trip::cpu::gemm_detail

#endif
