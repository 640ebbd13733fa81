// The elementwise op API: checks devices, promotes dtypes, broadcasts, allocates the output and
// hands the kernels operands that already share one shape and one dtype.
#include <cmath>

#include "tensor/backend.h"
#include "tensor/elementwise_math.h"
#include "tensor/ops.h"

namespace trip::ops {

static void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  TRIP_CHECK(a.device() == b.device(), "{}: expected tensors on one device, got {} and {}", op,
             a.device(), b.device());
}

Tensor unary(UnaryOp op, const Tensor& x, UnaryParams p) {
  Tensor in = x;
  if (math::needs_floating(op) && !is_floating(in.dtype())) in = to(in, DType::f32);
  TRIP_CHECK(in.dtype() != DType::boolean, "{}: not defined for bool tensors", op_name(op));
  Tensor out = empty(in.shape(), in.options());
  if (out.numel() > 0) backend(in.device()).unary(op, in, out, p);
  return out;
}

Tensor unary_backward(UnaryOp op, const Tensor& x, const Tensor& grad_out, UnaryParams p) {
  check_same_device(x, grad_out, op_name(op));
  TRIP_CHECK(x.shape() == grad_out.shape(), "{} backward: input shape {} but gradient shape {}",
             op_name(op), x.shape(), grad_out.shape());
  TRIP_CHECK(is_floating(x.dtype()), "{} backward: expected a floating input, got {}", op_name(op),
             x.dtype());
  Tensor g = grad_out.dtype() == x.dtype() ? grad_out : to(grad_out, x.dtype());
  Tensor out = empty(x.shape(), x.options());
  if (out.numel() > 0) backend(x.device()).unary_backward(op, x, g, out, p);
  return out;
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  check_same_device(a, b, op_name(op));
  Dims shape = broadcast_shapes(a.shape(), b.shape(), op_name(op));
  DType compute = promote(a.dtype(), b.dtype());
  // Division and pow of integers give floats, as in PyTorch ("true division").
  if ((op == BinaryOp::div || op == BinaryOp::pow) && !is_floating(compute)) compute = DType::f32;
  TRIP_CHECK(compute != DType::boolean || is_comparison(op) || op == BinaryOp::maximum ||
                 op == BinaryOp::minimum,
             "{}: not defined for bool tensors (convert with to(dtype) first)", op_name(op));
  Tensor ea = expand(to(a, compute), shape), eb = expand(to(b, compute), shape);
  Tensor out =
      empty(shape, TensorOptions(is_comparison(op) ? DType::boolean : compute, a.device()));
  if (out.numel() > 0) backend(a.device()).binary(op, ea, eb, out);
  return out;
}

Tensor scalar_like(double value, const Tensor& like) {
  bool integral_value = std::isfinite(value) && value == std::floor(value);
  DType dtype = (is_floating(like.dtype()) || integral_value) ? like.dtype() : DType::f32;
  if (dtype == DType::boolean && !(value == 0 || value == 1)) dtype = DType::i64;
  return full({}, value, TensorOptions(dtype, like.device()));
}

Tensor binary(BinaryOp op, const Tensor& a, double b) { return binary(op, a, scalar_like(b, a)); }
Tensor binary(BinaryOp op, double a, const Tensor& b) { return binary(op, scalar_like(a, b), b); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_same_device(cond, a, "where");
  check_same_device(a, b, "where");
  TRIP_CHECK(cond.dtype() == DType::boolean, "where: condition must be bool, got {}", cond.dtype());
  Dims shape =
      broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  DType dtype = promote(a.dtype(), b.dtype());
  Tensor out = empty(shape, TensorOptions(dtype, a.device()));
  if (out.numel() > 0) {
    backend(a.device())
        .where(expand(cond, shape), expand(to(a, dtype), shape), expand(to(b, dtype), shape), out);
  }
  return out;
}

Tensor masked_fill(const Tensor& t, const Tensor& mask, double value) {
  TRIP_CHECK(mask.dtype() == DType::boolean, "masked_fill: mask must be bool, got {}",
             mask.dtype());
  return where(mask, full({}, value, t.options()), t);
}

}  // namespace trip::ops
