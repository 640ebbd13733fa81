// Reductions: the op API brings the input into the [outer, reduced, inner] form of
// ReduceGeometry (a free view when the reduced dims are adjacent, one permuted copy otherwise), so
// each backend implements a single reduction loop.
#include <cmath>
#include <limits>

#include "tensor/backend.h"
#include "tensor/ops.h"

namespace trip::ops {

namespace {

struct Prepared {
  Tensor input;  // contiguous, laid out as [outer, reduced, inner]
  ReduceGeometry geometry;
  Dims out_shape;  // with keepdim applied
};

uint32_t dims_mask(const Tensor& t, const Dims& dims, const char* op) {
  if (dims.empty()) return t.dim() == 0 ? 0u : (1u << t.dim()) - 1;
  uint32_t mask = 0;
  for (int64_t d : dims) {
    int w = wrap_dim(d, t.dim(), op);
    TRIP_CHECK(!(mask & (1u << w)), "{}: dim {} repeated in {}", op, w, dims);
    mask |= 1u << w;
  }
  return mask;
}

Prepared prepare(const Tensor& t, const Dims& dims, bool keepdim, const char* op) {
  uint32_t mask = dims_mask(t, dims, op);
  Prepared p;
  for (int i = 0; i < t.dim(); ++i) {
    bool reduced = mask & (1u << i);
    if (!reduced)
      p.out_shape.push_back(t.shape()[i]);
    else if (keepdim)
      p.out_shape.push_back(1);
  }
  int first = -1, last = -1;
  for (int i = 0; i < t.dim(); ++i) {
    if (!(mask & (1u << i))) continue;
    if (first < 0) first = i;
    last = i;
  }
  bool adjacent = first < 0 || (last - first + 1) == __builtin_popcount(mask);
  if (adjacent) {
    p.input = contiguous(t);
    for (int i = 0; i < t.dim(); ++i) {
      int64_t s = t.shape()[i];
      if (first >= 0 && i < first)
        p.geometry.outer *= s;
      else if (first >= 0 && i > last)
        p.geometry.inner *= s;
      else if (first >= 0)
        p.geometry.reduced *= s;
      else
        p.geometry.outer *= s;
    }
  } else {
    Dims order;
    for (int i = 0; i < t.dim(); ++i)
      if (!(mask & (1u << i))) order.push_back(i), p.geometry.outer *= t.shape()[i];
    for (int i = 0; i < t.dim(); ++i)
      if (mask & (1u << i)) order.push_back(i), p.geometry.reduced *= t.shape()[i];
    p.input = contiguous(permute(t, order));
  }
  return p;
}

Tensor run_reduce(ReduceOp op, const Tensor& t, const Dims& dims, bool keepdim, DType out_dtype,
                  const char* name) {
  Prepared p = prepare(t, dims, keepdim, name);
  if ((op == ReduceOp::max || op == ReduceOp::min) && p.geometry.reduced == 0) {
    fail("{}: cannot reduce over a dim of size 0 (shape {}): the result has no identity", name,
         t.shape());
  }
  Tensor in = p.input.dtype() == out_dtype ? p.input : to(p.input, out_dtype);
  Tensor out = empty(p.out_shape, TensorOptions(out_dtype, t.device()));
  if (out.numel() > 0) backend(t.device()).reduce(op, in, out, p.geometry);
  return out;
}

}  // namespace

Tensor sum(const Tensor& t, const Dims& dims, bool keepdim) {
  DType dtype = is_floating(t.dtype()) ? t.dtype() : DType::i64;  // integer sums widen to i64
  return run_reduce(ReduceOp::sum, t, dims, keepdim, dtype, "sum");
}

Tensor mean(const Tensor& t, const Dims& dims, bool keepdim) {
  TRIP_CHECK(is_floating(t.dtype()), "mean: expected a floating dtype, got {}", t.dtype());
  return run_reduce(ReduceOp::mean, t, dims, keepdim, t.dtype(), "mean");
}

Tensor amax(const Tensor& t, const Dims& dims, bool keepdim) {
  return run_reduce(ReduceOp::max, t, dims, keepdim, t.dtype(), "amax");
}

Tensor amin(const Tensor& t, const Dims& dims, bool keepdim) {
  return run_reduce(ReduceOp::min, t, dims, keepdim, t.dtype(), "amin");
}

static std::pair<Tensor, Tensor> arg_extreme(bool is_max, const Tensor& t, int64_t dim,
                                             bool keepdim, const char* name) {
  Dims dims;
  if (t.dim() > 0) dims.push_back(wrap_dim(dim, t.dim(), name));
  Prepared p = prepare(t, dims, keepdim, name);
  TRIP_CHECK(p.geometry.reduced > 0, "{}: cannot reduce over a dim of size 0 (shape {})", name,
             t.shape());
  Tensor values = empty(p.out_shape, t.options());
  Tensor indices = empty(p.out_shape, TensorOptions(DType::i64, t.device()));
  if (values.numel() > 0) {
    backend(t.device()).arg_reduce(is_max, p.input, values, indices, p.geometry);
  }
  return {values, indices};
}

std::pair<Tensor, Tensor> max(const Tensor& t, int64_t dim, bool keepdim) {
  return arg_extreme(true, t, dim, keepdim, "max");
}
std::pair<Tensor, Tensor> min(const Tensor& t, int64_t dim, bool keepdim) {
  return arg_extreme(false, t, dim, keepdim, "min");
}
Tensor argmax(const Tensor& t, int64_t dim, bool keepdim) {
  return arg_extreme(true, t, dim, keepdim, "argmax").second;
}

Tensor var(const Tensor& t, const Dims& dims, int64_t correction, bool keepdim) {
  TRIP_CHECK(is_floating(t.dtype()), "var: expected a floating dtype, got {}", t.dtype());
  // Two passes (mean, then squared deviations): stable where the one-pass formula cancels.
  Tensor centered = binary(BinaryOp::sub, t, mean(t, dims, /*keepdim=*/true));
  Tensor sq = sum(unary(UnaryOp::square, centered), dims, keepdim);
  int64_t n = sq.numel() == 0 ? 0 : t.numel() / sq.numel();
  double denom = std::max<double>(double(n - correction), 0.0);
  return binary(BinaryOp::div, sq, denom == 0 ? std::numeric_limits<double>::quiet_NaN() : denom);
}

Tensor std(const Tensor& t, const Dims& dims, int64_t correction, bool keepdim) {
  return unary(UnaryOp::sqrt, var(t, dims, correction, keepdim));
}

Tensor norm(const Tensor& t, double p, const Dims& dims, bool keepdim) {
  TRIP_CHECK(is_floating(t.dtype()), "norm: expected a floating dtype, got {}", t.dtype());
  TRIP_CHECK(p > 0, "norm: p must be positive (or infinity), got {}", p);
  Tensor a = unary(UnaryOp::abs, t);
  if (std::isinf(p)) return amax(a, dims, keepdim);
  if (p == 1) return sum(a, dims, keepdim);
  if (p == 2) return unary(UnaryOp::sqrt, sum(unary(UnaryOp::square, t), dims, keepdim));
  Tensor powered = sum(unary(UnaryOp::pow_scalar, a, {p, 0}), dims, keepdim);
  return unary(UnaryOp::pow_scalar, powered, {1.0 / p, 0});
}

Tensor sum_to(const Tensor& t, const Dims& shape) {
  if (t.shape() == shape) return t;
  TRIP_CHECK(shape.size() <= t.dim(), "sum_to: cannot sum shape {} to the larger shape {}",
             t.shape(), shape);
  int lead = t.dim() - shape.size();
  Dims dims;
  for (int i = 0; i < t.dim(); ++i) {
    if (i < lead) {
      dims.push_back(i);
    } else if (shape[i - lead] == 1 && t.shape()[i] != 1) {
      dims.push_back(i);
    } else {
      TRIP_CHECK(shape[i - lead] == t.shape()[i], "sum_to: shape {} does not broadcast to {}",
                 shape, t.shape());
    }
  }
  if (dims.empty()) return reshape(t, shape);
  return reshape(sum(t, dims, /*keepdim=*/true), shape);
}

}  // namespace trip::ops
