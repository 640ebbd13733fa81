// defines: the AVX2+FMA GEMM micro-kernels (f32 and f64), for x86 CPUs without AVX-512. Compiled
// with a target attribute so no compiler flag is needed; gemm.cpp checks the CPU first.
//
// Wide tile: 6 rows x 2 vectors (6 x 16 floats, 6 x 8 doubles): 12 accumulators + 2 B vectors + 1
// broadcast fill 15 of the 16 ymm registers, and 12 independent FMA chains cover the FMA latency
// on two pipes (~92% of AVX2 peak on Zen 5). Narrow tile: 12 rows x 1 vector. B must be a padded
// panel; partial C tiles go through a scratch tile (AVX2 masked stores are slow on AMD).
#include "tensor/cpu/gemm_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TRIP_AVX2 __attribute__((target("avx2,fma"), always_inline)) inline

namespace trip::cpu::gemm_detail {
namespace {

template <typename T>
struct Vec;

template <>
struct Vec<float> {
  using Reg = __m256;
  static constexpr int kLanes = 8;
  TRIP_AVX2 static Reg zero() { return _mm256_setzero_ps(); }
  TRIP_AVX2 static Reg loadu(const float* p) { return _mm256_loadu_ps(p); }
  TRIP_AVX2 static void storeu(float* p, Reg v) { _mm256_storeu_ps(p, v); }
  TRIP_AVX2 static Reg broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  TRIP_AVX2 static Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  TRIP_AVX2 static Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
};

template <>
struct Vec<double> {
  using Reg = __m256d;
  static constexpr int kLanes = 4;
  TRIP_AVX2 static Reg zero() { return _mm256_setzero_pd(); }
  TRIP_AVX2 static Reg loadu(const double* p) { return _mm256_loadu_pd(p); }
  TRIP_AVX2 static void storeu(double* p, Reg v) { _mm256_storeu_pd(p, v); }
  TRIP_AVX2 static Reg broadcast(const double* p) { return _mm256_broadcast_sd(p); }
  TRIP_AVX2 static Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_pd(a, b, c); }
  TRIP_AVX2 static Reg add(Reg a, Reg b) { return _mm256_add_pd(a, b); }
};

template <typename T, int MR, int NV>
TRIP_AVX2 void store_tile(typename Vec<T>::Reg (&acc)[MR][NV], T* c, int64_t c_rs, int m, int n,
                          bool add) {
  using V = Vec<T>;
  constexpr int NR = NV * V::kLanes;
  if (m == MR && n == NR) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        T* p = c + i * c_rs + v * V::kLanes;
        V::storeu(p, add ? V::add(V::loadu(p), acc[i][v]) : acc[i][v]);
      }
    return;
  }
  alignas(32) T tile[MR][NR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) V::storeu(&tile[i][v * V::kLanes], acc[i][v]);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) c[i * c_rs + j] = add ? c[i * c_rs + j] + tile[i][j] : tile[i][j];
}

// One tile of R rows: A packed (a[k*MR + i], kPackedA) or read in place (a[i*a_rs + k]; rows >= m
// repeat row m-1 so nothing past the matrix is read), B a padded panel at b[k*b_rs + j].
template <typename T, int MR, int R, int NV, bool kPackedA>
__attribute__((target("avx2,fma"))) void kernel(int64_t kc, const T* a, int64_t a_rs, const T* b,
                                                int64_t b_rs, T* c, int64_t c_rs, int m, int n,
                                                bool add) {
  using V = Vec<T>;
  const T* rows[R];
  for (int i = 0; i < R; ++i) rows[i] = a + (i < m ? i : m - 1) * a_rs;
  typename V::Reg acc[R][NV];
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = V::zero();
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; ++k, b += b_rs) {
    typename V::Reg bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = V::loadu(b + v * V::kLanes);
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      const typename V::Reg av = V::broadcast(kPackedA ? a + k * MR + i : rows[i] + k);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = V::fma(av, bv[v], acc[i][v]);
    }
  }
  store_tile<T, R, NV>(acc, c, c_rs, m, n, add);
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
      false};
}

}  // namespace

// 6 x 16 floats (6 x 8 doubles) wide, 12 x 8 floats (12 x 4 doubles) narrow.
KernelSet<float> avx2_kernels_f32() {
  return {tile<float, 6, 2>(), tile<float, 12, 1>(), 256, 144, 2048};
}
KernelSet<double> avx2_kernels_f64() {
  return {tile<double, 6, 2>(), tile<double, 12, 1>(), 256, 96, 1024};
}

}  // namespace trip::cpu::gemm_detail

#else  // not x86: no AVX2 kernels

namespace trip::cpu::gemm_detail {
KernelSet<float> avx2_kernels_f32() { return {}; }
KernelSet<double> avx2_kernels_f64() { return {}; }
}  // namespace trip::cpu::gemm_detail

#endif
