// defines: float versions of exp, tanh and erf written in plain arithmetic so that
// `#pragma omp simd` loops vectorise them (libm calls are opaque and block vectorisation), and
// fast_unary<Op>, which the CPU f32 kernels use in place of the shared formula where one of these
// applies. Accuracy (checked in tests/vec_math_test.cpp against libm in double): a few ulp.
//
// exp_approx: Cody-Waite range reduction x = n ln2 + r, |r| <= ln2/2, then a degree-7 Taylor
// polynomial; underflows to 0 below -103.9 and overflows to inf above 88.72.
#pragma once
#include <cstdint>
#include <cstring>

#include "tensor/elementwise_math.h"

namespace trip::cpu {

#pragma omp declare simd
inline float exp_approx(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693145751953125f;  // ln 2 split in two for an exact n*ln2_hi
  constexpr float kLn2Lo = 1.42860682030941723e-06f;
  float clamped = x < -103.9f ? -103.9f : (x > 88.8f ? 88.8f : x);
  float n = __builtin_roundevenf(clamped * kLog2e);
  float r = clamped - n * kLn2Hi - n * kLn2Lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // 2^n in two halves so n down to -150 (subnormal results) stays representable.
  int32_t ni = int32_t(n);
  int32_t half = ni / 2;
  uint32_t b1 = uint32_t(half + 127) << 23, b2 = uint32_t(ni - half + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &b1, 4);
  std::memcpy(&s2, &b2, 4);
  float result = p * s1 * s2;
  if (x > 88.72283935546875f) result = __builtin_inff();
  if (x < -103.9f) result = 0.0f;
  return x != x ? x : result;
}

// tanh: odd polynomial near 0 (where 1 - 2/(e^2x + 1) would cancel), the exp form elsewhere.
// The small-|x| coefficients are the classic minimax fit of (tanh(x) - x) / x^3 on [0, 0.625].
#pragma omp declare simd
inline float tanh_approx(float x) {
  float ax = x < 0 ? -x : x;
  float x2 = x * x;
  float p = -5.70498872745e-3f;
  p = p * x2 + 2.06390887954e-2f;
  p = p * x2 - 5.37397155531e-2f;
  p = p * x2 + 1.33314422036e-1f;
  p = p * x2 - 3.33332819422e-1f;
  float small = x + x * x2 * p;
  float e = exp_approx(-2.0f * ax);
  float big = (1.0f - e) / (1.0f + e);
  big = x < 0 ? -big : big;
  return ax < 0.625f ? small : big;
}

// erf: Taylor series x * sum_k (-1)^k x^2k / (k! (2k+1)) * 2/sqrt(pi) for |x| <= 1 (accurate in
// relative terms near 0), and 1 - erfc with the Chebyshev-fitted erfc of Numerical Recipes
// (relative error < 1.2e-7) beyond.
#pragma omp declare simd
inline float erf_approx(float x) {
  float ax = x < 0 ? -x : x;
  float x2 = x * x;
  // Coefficients (-1)^k / (k! (2k+1)) for k = 10 .. 0, times 2/sqrt(pi) at the end.
  float p = 1.0f / 76204800.0f;
  p = p * x2 - 1.0f / 6894720.0f;
  p = p * x2 + 1.0f / 685440.0f;
  p = p * x2 - 1.0f / 75600.0f;
  p = p * x2 + 1.0f / 9360.0f;
  p = p * x2 - 1.0f / 1320.0f;
  p = p * x2 + 1.0f / 216.0f;
  p = p * x2 - 1.0f / 42.0f;
  p = p * x2 + 1.0f / 10.0f;
  p = p * x2 - 1.0f / 3.0f;
  p = p * x2 + 1.0f;
  float small = 1.12837916709551257f * x * p;
  float t = 1.0f / (1.0f + 0.5f * ax);
  float q = 0.17087277f;
  q = q * t - 0.82215223f;
  q = q * t + 1.48851587f;
  q = q * t - 1.13520398f;
  q = q * t + 0.27886807f;
  q = q * t - 0.18628806f;
  q = q * t + 0.09678418f;
  q = q * t + 0.37409196f;
  q = q * t + 1.00002368f;
  q = q * t - 1.26551223f;
  float erfc = t * exp_approx(-x2 + q);
  float big = 1.0f - erfc;
  big = x < 0 ? -big : big;
  return ax <= 1.0f ? small : big;
}

// The f32 formula the CPU kernels use for `Op`: the vectorisable approximations above where they
// apply, the shared formula of tensor/elementwise_math.h otherwise.
#pragma omp declare simd
template <UnaryOp Op>
inline float fast_unary(float x, float a, float b) {
  if constexpr (Op == UnaryOp::exp)
    return exp_approx(x);
  else if constexpr (Op == UnaryOp::tanh)
    return tanh_approx(x);
  else if constexpr (Op == UnaryOp::erf)
    return erf_approx(x);
  else if constexpr (Op == UnaryOp::sigmoid)
    return 1.0f / (1.0f + exp_approx(-x));
  else if constexpr (Op == UnaryOp::silu)
    return x / (1.0f + exp_approx(-x));
  else if constexpr (Op == UnaryOp::gelu_erf) {
    return 0.5f * x * (1.0f + erf_approx(x * 0.70710678118654752f));
  } else if constexpr (Op == UnaryOp::gelu_tanh) {
    return 0.5f * x * (1.0f + tanh_approx(0.79788456080286536f * (x + 0.044715f * x * x * x)));
  } else {
    return math::unary<Op, float>(x, a, b);
  }
}

}  // namespace trip::cpu
