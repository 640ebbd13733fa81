// defines: the per-element formulas of every unary and binary op and of each unary op's
// derivative, written once for the CPU kernels (tensor/cpu/) and the CUDA kernels (tensor/cuda/)
// so the CPU tests exercise the very formula the GPU runs. C is the compute type (float for the
// 16-bit floats, the element type otherwise).
#pragma once
#include <cmath>

#include "tensor/macros.h"
#include "tensor/op_kinds.h"

namespace trip::math {

template <typename C>
TRIP_HD C sigmoid(C x) {
  return C(1) / (C(1) + std::exp(-x));
}

// Constants of the two GELU forms (Hendrycks & Gimpel 2016).
inline constexpr double kSqrt2OverPi = 0.7978845608028654;  // sqrt(2/pi)
inline constexpr double kGeluTanhCubic = 0.044715;
inline constexpr double kInvSqrt2 = 0.7071067811865476;
inline constexpr double kInvSqrt2Pi = 0.3989422804014327;  // 1/sqrt(2 pi)
inline constexpr double kTwoOverSqrtPi = 1.1283791670955126;

template <UnaryOp Op, typename C>
TRIP_HD C unary(C x, C a, C b) {
  if constexpr (Op == UnaryOp::neg) return -x;
  if constexpr (Op == UnaryOp::abs) return x < C(0) ? -x : x;
  if constexpr (Op == UnaryOp::exp) return std::exp(x);
  if constexpr (Op == UnaryOp::log) return std::log(x);
  if constexpr (Op == UnaryOp::sqrt) return std::sqrt(x);
  if constexpr (Op == UnaryOp::rsqrt) return C(1) / std::sqrt(x);
  if constexpr (Op == UnaryOp::sin) return std::sin(x);
  if constexpr (Op == UnaryOp::cos) return std::cos(x);
  if constexpr (Op == UnaryOp::tanh) return std::tanh(x);
  if constexpr (Op == UnaryOp::sigmoid) return sigmoid(x);
  if constexpr (Op == UnaryOp::silu) return x * sigmoid(x);
  if constexpr (Op == UnaryOp::gelu_erf) return C(0.5) * x * (C(1) + std::erf(x * C(kInvSqrt2)));
  if constexpr (Op == UnaryOp::gelu_tanh) {
    C inner = C(kSqrt2OverPi) * (x + C(kGeluTanhCubic) * x * x * x);
    return C(0.5) * x * (C(1) + std::tanh(inner));
  }
  if constexpr (Op == UnaryOp::relu) return x < C(0) ? C(0) : x;  // NaN passes through
  if constexpr (Op == UnaryOp::square) return x * x;
  if constexpr (Op == UnaryOp::reciprocal) return C(1) / x;
  if constexpr (Op == UnaryOp::pow_scalar) return std::pow(x, a);
  if constexpr (Op == UnaryOp::clamp) {
    if (x != x) return x;  // NaN passes through, as in PyTorch
    return x < a ? a : (x > b ? b : x);
  }
  if constexpr (Op == UnaryOp::erf) return std::erf(x);
  if constexpr (Op == UnaryOp::sign) return C((x > C(0)) - (x < C(0)));
}

// d op(x) / dx multiplied by the incoming gradient g.
template <UnaryOp Op, typename C>
TRIP_HD C unary_grad(C x, C g, C a, C b) {
  if constexpr (Op == UnaryOp::neg) return -g;
  if constexpr (Op == UnaryOp::abs) return x > C(0) ? g : (x < C(0) ? -g : C(0));
  if constexpr (Op == UnaryOp::exp) return g * std::exp(x);
  if constexpr (Op == UnaryOp::log) return g / x;
  if constexpr (Op == UnaryOp::sqrt) return g * C(0.5) / std::sqrt(x);
  if constexpr (Op == UnaryOp::rsqrt) return g * C(-0.5) / (x * std::sqrt(x));
  if constexpr (Op == UnaryOp::sin) return g * std::cos(x);
  if constexpr (Op == UnaryOp::cos) return -g * std::sin(x);
  if constexpr (Op == UnaryOp::tanh) {
    C t = std::tanh(x);
    return g * (C(1) - t * t);
  }
  if constexpr (Op == UnaryOp::sigmoid) {
    C s = sigmoid(x);
    return g * s * (C(1) - s);
  }
  if constexpr (Op == UnaryOp::silu) {
    C s = sigmoid(x);
    return g * s * (C(1) + x * (C(1) - s));
  }
  if constexpr (Op == UnaryOp::gelu_erf) {
    C cdf = C(0.5) * (C(1) + std::erf(x * C(kInvSqrt2)));
    C pdf = C(kInvSqrt2Pi) * std::exp(C(-0.5) * x * x);
    return g * (cdf + x * pdf);
  }
  if constexpr (Op == UnaryOp::gelu_tanh) {
    C inner = C(kSqrt2OverPi) * (x + C(kGeluTanhCubic) * x * x * x);
    C t = std::tanh(inner);
    C dinner = C(kSqrt2OverPi) * (C(1) + C(3 * kGeluTanhCubic) * x * x);
    return g * (C(0.5) * (C(1) + t) + C(0.5) * x * (C(1) - t * t) * dinner);
  }
  if constexpr (Op == UnaryOp::relu) return x > C(0) ? g : C(0);
  if constexpr (Op == UnaryOp::square) return g * C(2) * x;
  if constexpr (Op == UnaryOp::reciprocal) return -g / (x * x);
  if constexpr (Op == UnaryOp::pow_scalar) {
    return a == C(0) ? C(0) : g * a * std::pow(x, a - C(1));
  }
  if constexpr (Op == UnaryOp::clamp) return (x >= a && x <= b) ? g : C(0);
  if constexpr (Op == UnaryOp::erf) return g * C(kTwoOverSqrtPi) * std::exp(-x * x);
  if constexpr (Op == UnaryOp::sign) return C(0);
}

// Ops that only make sense on floating values; the op layer converts integer inputs to f32.
constexpr bool needs_floating(UnaryOp op) {
  switch (op) {
    case UnaryOp::neg:
    case UnaryOp::abs:
    case UnaryOp::relu:
    case UnaryOp::square:
    case UnaryOp::clamp:
    case UnaryOp::sign:
      return false;
    default:
      return true;
  }
}

template <BinaryOp Op, typename C>
TRIP_HD C binary(C x, C y) {
  if constexpr (Op == BinaryOp::add) return x + y;
  if constexpr (Op == BinaryOp::sub) return x - y;
  if constexpr (Op == BinaryOp::mul) return x * y;
  if constexpr (Op == BinaryOp::div) return x / y;
  // maximum/minimum propagate NaN (PyTorch semantics), hence the x != x tests.
  if constexpr (Op == BinaryOp::maximum) return (x != x || x > y) ? x : y;
  if constexpr (Op == BinaryOp::minimum) return (x != x || x < y) ? x : y;
  if constexpr (Op == BinaryOp::pow) return C(std::pow(x, y));
}

template <BinaryOp Op, typename C>
TRIP_HD bool compare(C x, C y) {
  if constexpr (Op == BinaryOp::eq) return x == y;
  if constexpr (Op == BinaryOp::ne) return x != y;
  if constexpr (Op == BinaryOp::lt) return x < y;
  if constexpr (Op == BinaryOp::le) return x <= y;
  if constexpr (Op == BinaryOp::gt) return x > y;
  if constexpr (Op == BinaryOp::ge) return x >= y;
}

// Calls fn(std::integral_constant<UnaryOp, op>{}) for a run-time op, so kernels are instantiated
// once per op with the formula inlined (a switch inside the loop would block vectorisation).
template <typename Fn>
void dispatch_unary(UnaryOp op, Fn&& fn) {
#define TRIP_UNARY_CASE(name) \
  case UnaryOp::name:         \
    return fn(std::integral_constant<UnaryOp, UnaryOp::name>{});
  switch (op) {
    TRIP_UNARY_CASE(neg)
    TRIP_UNARY_CASE(abs)
    TRIP_UNARY_CASE(exp) TRIP_UNARY_CASE(log) TRIP_UNARY_CASE(sqrt) TRIP_UNARY_CASE(rsqrt)
        TRIP_UNARY_CASE(sin) TRIP_UNARY_CASE(cos) TRIP_UNARY_CASE(tanh) TRIP_UNARY_CASE(sigmoid)
            TRIP_UNARY_CASE(silu) TRIP_UNARY_CASE(gelu_erf) TRIP_UNARY_CASE(gelu_tanh)
                TRIP_UNARY_CASE(relu) TRIP_UNARY_CASE(square) TRIP_UNARY_CASE(reciprocal)
                    TRIP_UNARY_CASE(pow_scalar) TRIP_UNARY_CASE(clamp) TRIP_UNARY_CASE(erf)
                        TRIP_UNARY_CASE(sign)
  }
#undef TRIP_UNARY_CASE
}

template <typename Fn>
void dispatch_binary(BinaryOp op, Fn&& fn) {
#define TRIP_BINARY_CASE(name) \
  case BinaryOp::name:         \
    return fn(std::integral_constant<BinaryOp, BinaryOp::name>{});
  switch (op) {
    TRIP_BINARY_CASE(add)
    TRIP_BINARY_CASE(sub)
    TRIP_BINARY_CASE(mul) TRIP_BINARY_CASE(div) TRIP_BINARY_CASE(maximum) TRIP_BINARY_CASE(minimum)
        TRIP_BINARY_CASE(pow) TRIP_BINARY_CASE(eq) TRIP_BINARY_CASE(ne) TRIP_BINARY_CASE(lt)
            TRIP_BINARY_CASE(le) TRIP_BINARY_CASE(gt) TRIP_BINARY_CASE(ge)
  }
#undef TRIP_BINARY_CASE
}

}  // namespace trip::math
