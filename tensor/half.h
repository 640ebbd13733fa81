// defines: bf16, f16 — 16-bit floating-point storage types with float conversions usable on host
// and device. Arithmetic always happens in float; these only store. Rounding is
// round-to-nearest-even, NaN stays NaN (the IEEE behaviour PyTorch also gives).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "tensor/macros.h"

namespace trip {

TRIP_HD uint32_t float_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}

TRIP_HD float bits_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

struct bf16 {
  uint16_t bits = 0;
  bf16() = default;
  TRIP_HD bf16(float f) {  // NOLINT: implicit like a built-in float type
    uint32_t u = float_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
      bits = uint16_t((u >> 16) | 0x40u);  // quiet NaN, keep sign
    } else {
      u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even
      bits = uint16_t(u >> 16);
    }
  }
  TRIP_HD operator float() const { return bits_float(uint32_t(bits) << 16); }
};

struct f16 {
  uint16_t bits = 0;
  f16() = default;
  TRIP_HD f16(float f) {  // NOLINT
    uint32_t u = float_bits(f);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t mag = u & 0x7fffffffu;
    if (mag > 0x7f800000u) {
      bits = uint16_t(sign | 0x7e00u);  // NaN
    } else if (mag >= 0x477ff000u) {
      bits = uint16_t(sign | 0x7c00u);  // overflow (and inf) to inf
    } else if (mag < 0x38800000u) {
      // Subnormal or zero in half: scale into integer with round-to-nearest-even.
      float a = bits_float(mag);
      float scaled = a * 16777216.0f;  // 2^24: half subnormal unit is 2^-24
      uint32_t q = uint32_t(scaled);
      float rem = scaled - float(q);
      if (rem > 0.5f || (rem == 0.5f && (q & 1u))) ++q;
      bits = uint16_t(sign | q);
    } else {
      uint32_t exp = ((mag >> 23) - 112u) << 10;
      uint32_t mant = (mag >> 13) & 0x3ffu;
      uint32_t h = exp | mant;
      uint32_t rest = mag & 0x1fffu;
      if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // may carry into exponent: fine
      bits = uint16_t(sign | h);
    }
  }
  TRIP_HD operator float() const {
    uint32_t sign = uint32_t(bits & 0x8000u) << 16;
    uint32_t exp = (bits >> 10) & 0x1fu;
    uint32_t mant = bits & 0x3ffu;
    if (exp == 0) {
      float a = float(mant) * (1.0f / 16777216.0f);
      return sign ? -a : a;
    }
    if (exp == 31) return bits_float(sign | 0x7f800000u | (mant << 13));
    return bits_float(sign | ((exp + 112u) << 23) | (mant << 13));
  }
};

// The largest value strictly below x (x finite): used to keep rounded uniform samples below
// their upper bound.
template <typename Half>
TRIP_HD Half next_below(Half x) {
  Half out = x;
  if ((x.bits & 0x7fffu) == 0)
    out.bits = 0x8001u;  // +-0: the smallest negative subnormal
  else if (x.bits & 0x8000u)
    out.bits = uint16_t(x.bits + 1);  // negative: grow the magnitude
  else
    out.bits = uint16_t(x.bits - 1);
  return out;
}
TRIP_HD float next_below(float x) { return std::nextafter(x, -INFINITY); }
TRIP_HD double next_below(double x) { return std::nextafter(x, -INFINITY); }

}  // namespace trip
