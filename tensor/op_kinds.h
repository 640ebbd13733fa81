// defines: the enums naming each elementwise, reduction and random op. Shared by the op API,
// the CPU and the CUDA kernels (plain enums, usable in device code).
#pragma once
#include <cstdint>

namespace trip {

enum class UnaryOp : uint8_t {
  neg,
  abs,
  exp,
  log,
  sqrt,
  rsqrt,
  sin,
  cos,
  tanh,
  sigmoid,
  silu,
  gelu_erf,
  gelu_tanh,
  relu,
  square,
  reciprocal,
  pow_scalar,
  clamp,
  erf,
  sign
};
// Extra scalars some unary ops take: pow_scalar uses a (exponent); clamp uses a (min), b (max).
struct UnaryParams {
  double a = 0;
  double b = 0;
};

enum class BinaryOp : uint8_t {
  add,
  sub,
  mul,
  div,
  maximum,
  minimum,
  pow,
  eq,
  ne,
  lt,
  le,
  gt,
  ge  // comparisons: output dtype bool
};
constexpr bool is_comparison(BinaryOp op) { return op >= BinaryOp::eq; }

enum class ReduceOp : uint8_t { sum, mean, max, min, prod };

enum class RandomKind : uint8_t { uniform, normal };

// Geometry of an N-d convolution (N = spatial, 1..3): per spatial dim stride, padding (both
// sides, zeros) and dilation; input channels split into `groups` groups.
struct ConvParams {
  int spatial = 2;
  int64_t stride[3] = {1, 1, 1};
  int64_t padding[3] = {0, 0, 0};
  int64_t dilation[3] = {1, 1, 1};
  int64_t groups = 1;
};

const char* op_name(UnaryOp op);
const char* op_name(BinaryOp op);
const char* op_name(ReduceOp op);

}  // namespace trip
