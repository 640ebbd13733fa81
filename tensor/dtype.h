// defines: DType (the element types), their sizes and names, type promotion, and
// dispatch_dtype(), which turns a run-time DType into a compile-time C++ type for kernels.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tensor/error.h"
#include "tensor/half.h"

namespace trip {

enum class DType : uint8_t { f32, f64, bf16, f16, i32, i64, u8, boolean };

constexpr size_t element_size(DType t) {
  switch (t) {
    case DType::f32:
    case DType::i32:
      return 4;
    case DType::f64:
    case DType::i64:
      return 8;
    case DType::bf16:
    case DType::f16:
      return 2;
    case DType::u8:
    case DType::boolean:
      return 1;
  }
  return 0;
}

std::string_view dtype_name(DType t);
constexpr bool is_floating(DType t) {
  return t == DType::f32 || t == DType::f64 || t == DType::bf16 || t == DType::f16;
}
constexpr bool is_integral(DType t) { return !is_floating(t); }  // bool counts as integral

// The dtype of a binary op's result (tensor/README.md has the table and the reasoning).
DType promote(DType a, DType b);

// The C++ type a kernel stores and the type it computes in (float for the 16-bit floats).
template <DType D>
struct dtype_traits;
template <>
struct dtype_traits<DType::f32> {
  using type = float;
  using compute = float;
};
template <>
struct dtype_traits<DType::f64> {
  using type = double;
  using compute = double;
};
template <>
struct dtype_traits<DType::bf16> {
  using type = bf16;
  using compute = float;
};
template <>
struct dtype_traits<DType::f16> {
  using type = f16;
  using compute = float;
};
template <>
struct dtype_traits<DType::i32> {
  using type = int32_t;
  using compute = int32_t;
};
template <>
struct dtype_traits<DType::i64> {
  using type = int64_t;
  using compute = int64_t;
};
template <>
struct dtype_traits<DType::u8> {
  using type = uint8_t;
  using compute = int32_t;
};
template <>
struct dtype_traits<DType::boolean> {
  using type = bool;
  using compute = bool;
};

template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::f32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::f64;
}
template <>
constexpr DType dtype_of<bf16>() {
  return DType::bf16;
}
template <>
constexpr DType dtype_of<f16>() {
  return DType::f16;
}
template <>
constexpr DType dtype_of<int32_t>() {
  return DType::i32;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::i64;
}
template <>
constexpr DType dtype_of<uint8_t>() {
  return DType::u8;
}
template <>
constexpr DType dtype_of<bool>() {
  return DType::boolean;
}

template <DType D>
struct DTypeTag {
  static constexpr DType value = D;
  using type = typename dtype_traits<D>::type;
  using compute = typename dtype_traits<D>::compute;
};

// Calls fn(DTypeTag<D>{}) for the run-time dtype t. Use `typename decltype(tag)::type`.
template <typename Fn>
decltype(auto) dispatch_dtype(DType t, Fn&& fn) {
  switch (t) {
    case DType::f32:
      return fn(DTypeTag<DType::f32>{});
    case DType::f64:
      return fn(DTypeTag<DType::f64>{});
    case DType::bf16:
      return fn(DTypeTag<DType::bf16>{});
    case DType::f16:
      return fn(DTypeTag<DType::f16>{});
    case DType::i32:
      return fn(DTypeTag<DType::i32>{});
    case DType::i64:
      return fn(DTypeTag<DType::i64>{});
    case DType::u8:
      return fn(DTypeTag<DType::u8>{});
    case DType::boolean:
      return fn(DTypeTag<DType::boolean>{});
  }
  fail("dispatch_dtype: invalid dtype {}", int(t));
}

// Like dispatch_dtype but only for the floating dtypes; others raise an error naming `op`.
template <typename Fn>
decltype(auto) dispatch_floating(DType t, std::string_view op, Fn&& fn) {
  switch (t) {
    case DType::f32:
      return fn(DTypeTag<DType::f32>{});
    case DType::f64:
      return fn(DTypeTag<DType::f64>{});
    case DType::bf16:
      return fn(DTypeTag<DType::bf16>{});
    case DType::f16:
      return fn(DTypeTag<DType::f16>{});
    default:
      fail("{}: expected a floating dtype (f32, f64, bf16, f16), got {}", op, dtype_name(t));
  }
}

}  // namespace trip

template <>
struct fmt::formatter<trip::DType> : fmt::formatter<std::string_view> {
  auto format(trip::DType t, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(trip::dtype_name(t), ctx);
  }
};
