// In-place ops write into existing storage, so they bump its version: autograd uses it to notice
// a tensor saved for backward that changed afterwards.
#include "tensor/backend.h"
#include "tensor/ops.h"

namespace trip::ops {

void fill_(const Tensor& t, double value) {
  if (t.numel() > 0) backend(t.device()).fill(t, value);
  t.storage()->bump_version();
}

void copy_(const Tensor& dst, const Tensor& src) {
  Tensor s = src;
  if (s.device() != dst.device()) s = to(s, dst.device());
  s = expand(s, dst.shape());
  if (dst.numel() > 0) backend(dst.device()).copy(s, dst);
  dst.storage()->bump_version();
}

static void binary_inplace(BinaryOp op, const Tensor& a, Tensor b, const char* name) {
  TRIP_CHECK(a.device() == b.device(), "{}: tensors on different devices ({} and {})", name,
             a.device(), b.device());
  TRIP_CHECK(broadcast_shapes(a.shape(), b.shape(), name) == a.shape(),
             "{}: cannot broadcast shape {} into the in-place target of shape {}", name, b.shape(),
             a.shape());
  TRIP_CHECK(is_floating(a.dtype()) || !is_floating(b.dtype()),
             "{}: cannot write a {} result into the {} tensor in place", name, b.dtype(),
             a.dtype());
  if (b.dtype() != a.dtype()) b = to(b, a.dtype());
  if (a.numel() > 0) backend(a.device()).binary(op, a, expand(b, a.shape()), a);
  a.storage()->bump_version();
}

void add_(const Tensor& a, const Tensor& b, double alpha) {
  if (alpha == 1.0) return binary_inplace(BinaryOp::add, a, b, "add_");
  TRIP_CHECK(is_floating(a.dtype()) || alpha == double(int64_t(alpha)),
             "add_: alpha {} is not a whole number, and the target is {}", alpha, a.dtype());
  if (element_size(a.dtype()) == 2 && is_floating(a.dtype())) {
    // 16-bit floats: a + alpha * b in f32, rounded once on store (as PyTorch does).
    Tensor wide =
        binary(BinaryOp::add, to(a, DType::f32), binary(BinaryOp::mul, to(b, DType::f32), alpha));
    return copy_(a, wide);
  }
  binary_inplace(BinaryOp::add, a, binary(BinaryOp::mul, b, alpha), "add_");
}

void mul_(const Tensor& a, const Tensor& b) { binary_inplace(BinaryOp::mul, a, b, "mul_"); }

void mul_(const Tensor& a, double b) {
  binary_inplace(BinaryOp::mul, a, scalar_like(b, a), "mul_");
}

}  // namespace trip::ops
