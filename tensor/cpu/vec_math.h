// defines: float versions of exp, tanh and erf written in plain arithmetic so that
// `#pragma omp simd` loops vectorise them (libm calls are opaque and block vectorisation), and
// fast_unary<Op> and fast_unary_grad<Op>, which the CPU f32 kernels use in place of the shared
// formulas where one of these applies. Accuracy (checked in tests/vec_math_test.cpp against libm in
// double): a few ulp.
//
// exp_approx: Cody-Waite range reduction x = n ln2 + r, |r| <= ln2/2, then a degree-7 Taylor
// polynomial; underflows to 0 below -103.9 and overflows to inf above 88.72.
//
// Always inlined: where GCC's inliner gave up (the GELU gradient: exp and erf in one loop body) it
// called the scalar function per element and the loop ran 4x slower.
#pragma once
#include <cstdint>
#include <cstring>

#include "tensor/elementwise_math.h"

namespace trip::cpu {

#pragma omp declare simd
[[gnu::always_inline]] inline float exp_approx(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693145751953125f;  // ln 2 split in two for an exact n*ln2_hi
  constexpr float kLn2Lo = 1.42860682030941723e-06f;
  float clamped = x < -103.9f ? -103.9f : (x > 88.8f ? 88.8f : x);
  // Round to nearest by adding and removing 1.5 * 2^23 (plain arithmetic, so it vectorises).
  constexpr float kRound = 12582912.0f;
  float n = (clamped * kLog2e + kRound) - kRound;
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
[[gnu::always_inline]] inline float tanh_approx(float x) {
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

// erf: x P(x^2) / Q(x^2) on |x| <= 4 (beyond, erf rounds to +-1 in float), a rational fit of our
// own (scripts/fits/erf_rational.py: relative error 8e-8 before float rounding). No exp and one
// division, so it costs about as much as a silu.
#pragma omp declare simd
[[gnu::always_inline]] inline float erf_approx(float x) {
  float c = x < -4.0f ? -4.0f : (x > 4.0f ? 4.0f : x);
  float t = c * c;
  float p = 2.0446964188181038e-06f;
  p = p * t + 2.8374378274640538e-04f;
  p = p * t + 3.7412974430735654e-03f;
  p = p * t + 5.2666108935064272e-02f;
  p = p * t + 1.8991097748888322e-01f;
  p = p * t + 1.1283791500830045e+00f;
  float q = 3.7979990713289669e-05f;
  q = q * t + 1.1556761368707417e-03f;
  q = q * t + 1.4918948721102812e-02f;
  q = q * t + 1.1388914488184793e-01f;
  q = q * t + 5.0163705661190383e-01f;
  q = q * t + 1.0f;
  float r = c * p / q;
  return x != x ? x : r;
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

// The f32 gradient g * d(Op)/dx the CPU kernels use: math::unary_grad's formulas with the
// approximations above where libm calls would block vectorisation.
#pragma omp declare simd
template <UnaryOp Op>
inline float fast_unary_grad(float x, float g, float a, float b) {
  if constexpr (Op == UnaryOp::exp) {
    return g * exp_approx(x);
  } else if constexpr (Op == UnaryOp::tanh) {
    const float t = tanh_approx(x);
    return g * (1.0f - t * t);
  } else if constexpr (Op == UnaryOp::sigmoid) {
    const float s = 1.0f / (1.0f + exp_approx(-x));
    return g * s * (1.0f - s);
  } else if constexpr (Op == UnaryOp::silu) {
    const float s = 1.0f / (1.0f + exp_approx(-x));
    return g * s * (1.0f + x * (1.0f - s));
  } else if constexpr (Op == UnaryOp::gelu_erf) {
    const float cdf = 0.5f * (1.0f + erf_approx(x * float(math::kInvSqrt2)));
    const float pdf = float(math::kInvSqrt2Pi) * exp_approx(-0.5f * x * x);
    return g * (cdf + x * pdf);
  } else if constexpr (Op == UnaryOp::gelu_tanh) {
    const float inner = float(math::kSqrt2OverPi) * (x + float(math::kGeluTanhCubic) * x * x * x);
    const float t = tanh_approx(inner);
    const float dinner =
        float(math::kSqrt2OverPi) * (1.0f + float(3 * math::kGeluTanhCubic) * x * x);
    return g * (0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * dinner);
  } else if constexpr (Op == UnaryOp::erf) {
    return g * float(math::kTwoOverSqrtPi) * exp_approx(-x * x);
  } else {
    return math::unary_grad<Op, float>(x, g, a, b);
  }
}

}  // namespace trip::cpu
