// defines: convert<To>(from), the one element conversion of every CPU and CUDA kernel (copy
// between dtypes, storing a compute-type result), and acc_t<T>, the type reductions accumulate in.
// The 16-bit floats go through float (rounding to nearest even); bool is `x != 0`; otherwise a
// static_cast (float to integer truncates toward zero, as C++ does), except that floats go to u8
// through i32 (u8's compute type), as the CPU copy does: -1.0 becomes 255 on both.
#pragma once
#include <cstdint>
#include <type_traits>

#include "tensor/half.h"
#include "tensor/macros.h"

namespace trip {

template <typename T>
inline constexpr bool is_half_v = std::is_same_v<T, bf16> || std::is_same_v<T, f16>;

template <typename To, typename From>
TRIP_HD To convert(From x) {
  if constexpr (std::is_same_v<To, From>) {
    return x;
  } else if constexpr (is_half_v<From>) {
    return convert<To>(float(x));
  } else if constexpr (is_half_v<To>) {
    return To(float(x));  // f64 goes through f32 first (the half types take a float)
  } else if constexpr (std::is_same_v<To, bool>) {
    return x != From(0);
  } else if constexpr (std::is_same_v<To, uint8_t> && std::is_floating_point_v<From>) {
    return static_cast<uint8_t>(static_cast<int32_t>(x));
  } else {
    return static_cast<To>(x);
  }
}

// Accumulator of reductions on both devices: double for every floating
// dtype (reductions are memory-bound, so the extra precision costs nothing measurable), int64 for
// the integer types and bool (a sum of bools counts the true elements).
template <typename T>
struct AccType {
  using type = int64_t;
};
template <>
struct AccType<float> {
  using type = double;
};
template <>
struct AccType<bf16> {
  using type = double;
};
template <>
struct AccType<f16> {
  using type = double;
};
template <>
struct AccType<double> {
  using type = double;
};
template <typename T>
using acc_t = typename AccType<T>::type;

}  // namespace trip
