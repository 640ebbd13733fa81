// defines: the AVX2+FMA forward of the direct convs (conv_direct_tile.h with 8 float or 4 double
// lanes), for x86 CPUs without AVX-512. AVX2 has no k-masks: a tap's lane masks become vector
// masks for vmaskmov loads (which do not fault on masked-off lanes) once per tap, outside the
// channel loop. Stores: plain for whole vectors, lane by lane for a plane's last, partial one
// (vmaskmov stores are slow on AMD). Tiles of 6 output channels x 2 vectors: 12 accumulators,
// 2 loaded vectors and a broadcast in the 16 ymm registers (the two masks live in L1).
//
// Every header is included before the target pragma, so that only this file's own functions
// (and the tile templates of conv_direct_tile.h, internal to this file) are built for AVX2.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "tensor/cpu/conv_direct.h"
#include "tensor/cpu/parallel.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2,fma")
#include "tensor/cpu/conv_direct_tile.h"

namespace trip::cpu::conv_direct {
namespace {

constexpr int kRows = 6, kVecs = 2;

template <typename T>
struct Vec256;

template <>
struct Vec256<float> {
  using Elem = float;
  using Reg = __m256;
  using Mask = __m256i;
  static constexpr int kLanes = 8;
  [[gnu::always_inline]] static Reg zero() { return _mm256_setzero_ps(); }
  [[gnu::always_inline]] static Reg set1(float v) { return _mm256_set1_ps(v); }
  [[gnu::always_inline]] static Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  // Lane j all ones where bit j is set.
  [[gnu::always_inline]] static Mask mask(uint16_t bits) {
    const __m256i lane_bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(bits), lane_bit), lane_bit);
  }
  [[gnu::always_inline]] static Reg load(Mask m, const float* p) {
    return _mm256_maskload_ps(p, m);
  }
  [[gnu::always_inline]] static void store(float* p, uint16_t bits, Reg v) {
    if (bits == 0xff) return _mm256_storeu_ps(p, v);
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, v);
    for (int j = 0; j < 8; ++j)
      if (bits >> j & 1) p[j] = lanes[j];
  }
};

template <>
struct Vec256<double> {
  using Elem = double;
  using Reg = __m256d;
  using Mask = __m256i;
  static constexpr int kLanes = 4;
  [[gnu::always_inline]] static Reg zero() { return _mm256_setzero_pd(); }
  [[gnu::always_inline]] static Reg set1(double v) { return _mm256_set1_pd(v); }
  [[gnu::always_inline]] static Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_pd(a, b, c); }
  [[gnu::always_inline]] static Mask mask(uint16_t bits) {
    const __m256i lane_bit = _mm256_setr_epi64x(1, 2, 4, 8);
    return _mm256_cmpeq_epi64(_mm256_and_si256(_mm256_set1_epi64x(bits), lane_bit), lane_bit);
  }
  [[gnu::always_inline]] static Reg load(Mask m, const double* p) {
    return _mm256_maskload_pd(p, m);
  }
  [[gnu::always_inline]] static void store(double* p, uint16_t bits, Reg v) {
    if (bits == 0xf) return _mm256_storeu_pd(p, v);
    alignas(32) double lanes[4];
    _mm256_store_pd(lanes, v);
    for (int j = 0; j < 4; ++j)
      if (bits >> j & 1) p[j] = lanes[j];
  }
};

}  // namespace

void forward_avx2(const float* x, const float* w, const float* bias, float* out, const Shape& s) {
  forward_planes<Vec256<float>, kRows, kVecs>(x, w, bias, out, s);
}
void forward_avx2(const double* x, const double* w, const double* bias, double* out,
                  const Shape& s) {
  forward_planes<Vec256<double>, kRows, kVecs>(x, w, bias, out, s);
}

}  // namespace trip::cpu::conv_direct
#pragma GCC pop_options

#else  // not x86: applies() never takes the direct kernels

namespace trip::cpu::conv_direct {
void forward_avx2(const float*, const float*, const float*, float*, const Shape&) {}
void forward_avx2(const double*, const double*, const double*, double*, const Shape&) {}
}  // namespace trip::cpu::conv_direct

#endif
