// defines: the AVX-512 forward of the direct convs (conv_direct_tile.h with 16 float or 8 double
// lanes, k-masks as the lane masks, tiles of 8 output channels x 3 vectors: 24 of the 32 zmm
// registers accumulate).
//
// Every header is included before the target pragma, so that only this file's own functions
// (and the tile templates of conv_direct_tile.h, internal to this file) are built for AVX-512.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "tensor/cpu/conv_direct.h"
#include "tensor/cpu/parallel.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,fma")
#include "tensor/cpu/conv_direct_tile.h"

namespace trip::cpu::conv_direct {
namespace {

constexpr int kRows = 8, kVecs = 3;

template <typename T>
struct Vec512;

template <>
struct Vec512<float> {
  using Elem = float;
  using Reg = __m512;
  using Mask = __mmask16;
  static constexpr int kLanes = 16;
  [[gnu::always_inline]] static Reg zero() { return _mm512_setzero_ps(); }
  [[gnu::always_inline]] static Reg set1(float v) { return _mm512_set1_ps(v); }
  [[gnu::always_inline]] static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  [[gnu::always_inline]] static Mask mask(uint16_t bits) { return Mask(bits); }
  [[gnu::always_inline]] static Reg load(Mask m, const float* p) {
    return _mm512_maskz_loadu_ps(m, p);
  }
  [[gnu::always_inline]] static void store(float* p, uint16_t bits, Reg v) {
    _mm512_mask_storeu_ps(p, __mmask16(bits), v);
  }
};

template <>
struct Vec512<double> {
  using Elem = double;
  using Reg = __m512d;
  using Mask = __mmask8;
  static constexpr int kLanes = 8;
  [[gnu::always_inline]] static Reg zero() { return _mm512_setzero_pd(); }
  [[gnu::always_inline]] static Reg set1(double v) { return _mm512_set1_pd(v); }
  [[gnu::always_inline]] static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_pd(a, b, c); }
  [[gnu::always_inline]] static Mask mask(uint16_t bits) { return Mask(bits); }
  [[gnu::always_inline]] static Reg load(Mask m, const double* p) {
    return _mm512_maskz_loadu_pd(m, p);
  }
  [[gnu::always_inline]] static void store(double* p, uint16_t bits, Reg v) {
    _mm512_mask_storeu_pd(p, __mmask8(bits), v);
  }
};

}  // namespace

void forward_avx512(const float* x, const float* w, const float* bias, float* out, const Shape& s) {
  forward_planes<Vec512<float>, kRows, kVecs>(x, w, bias, out, s);
}
void forward_avx512(const double* x, const double* w, const double* bias, double* out,
                    const Shape& s) {
  forward_planes<Vec512<double>, kRows, kVecs>(x, w, bias, out, s);
}

}  // namespace trip::cpu::conv_direct
#pragma GCC pop_options

#else  // not x86: applies() never takes the direct kernels

namespace trip::cpu::conv_direct {
void forward_avx512(const float*, const float*, const float*, float*, const Shape&) {}
void forward_avx512(const double*, const double*, const double*, double*, const Shape&) {}
}  // namespace trip::cpu::conv_direct

#endif
