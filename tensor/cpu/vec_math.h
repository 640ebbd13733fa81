// defines: exp_approx, an exp for float written in plain arithmetic so that `#pragma omp simd`
// loops vectorise it (std::exp is an opaque libm call that blocks vectorisation). Cody-Waite range
// reduction x = n ln2 + r, |r| <= ln2/2, then a degree-7 Taylor polynomial: max relative error
// about 2 ulp over the float range; underflows to 0 below -103.9 and overflows to inf above 88.7.
#pragma once
#include <cstdint>
#include <cstring>

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

}  // namespace trip::cpu
