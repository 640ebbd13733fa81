// The checked op API of the fused norm kernels: validates shapes, dtypes and devices with
// messages that name the op, lays operands out contiguously, allocates outputs and dispatches to
// the device's Backend (tensor/backend.h documents the kernels' contract).
#include <string>

#include "tensor/backend.h"
#include "tensor/ops.h"

namespace trip::ops {

namespace {

// mean/rstd are kept in f32 (f64 for f64 inputs) whatever the input's storage type.
DType stats_dtype(DType t) { return t == DType::f64 ? DType::f64 : DType::f32; }

// An optional per-feature parameter (weight, bias, scale, shift): undefined, or `shape` with x's
// dtype and device. Returned contiguous.
Tensor checked_param(const char* op, const char* what, const Tensor& p, const Tensor& x,
                     const Dims& shape) {
  if (!p.defined()) return p;
  TRIP_CHECK(p.shape() == shape, "{}: {} must have shape {}, got {}", op, what, shape, p.shape());
  TRIP_CHECK(p.dtype() == x.dtype(), "{}: {} has dtype {} but the input has dtype {}", op, what,
             p.dtype(), x.dtype());
  TRIP_CHECK(p.device() == x.device(), "{}: {} is on {} but the input is on {}", op, what,
             p.device(), x.device());
  return contiguous(p);
}

void check_input(const char* op, const Tensor& x) {
  TRIP_CHECK(x.defined(), "{}: the input is undefined", op);
  TRIP_CHECK(is_floating(x.dtype()), "{}: expected a floating input (f32, f64, bf16, f16), got {}",
             op, x.dtype());
}

// The gradient flowing in must match the saved forward: same shape, dtype and device as x, and
// the statistics the forward returned.
Tensor checked_grad(const char* op, const Tensor& grad_out, const Tensor& x, const NormResult& s,
                    const Dims& stats_shape) {
  TRIP_CHECK(grad_out.defined() && grad_out.shape() == x.shape(),
             "{}: grad_out must have the input's shape {}, got {}", op, x.shape(),
             grad_out.defined() ? grad_out.shape() : Dims{});
  TRIP_CHECK(grad_out.device() == x.device(), "{}: grad_out is on {} but the input is on {}", op,
             grad_out.device(), x.device());
  TRIP_CHECK(s.mean.defined() && s.rstd.defined() && s.mean.shape() == stats_shape &&
                 s.rstd.shape() == stats_shape && s.mean.dtype() == stats_dtype(x.dtype()) &&
                 s.rstd.dtype() == stats_dtype(x.dtype()),
             "{}: saved mean/rstd must be {} of shape {} (what the forward returned)", op,
             stats_dtype(x.dtype()), stats_shape);
  // grad_out may arrive in another dtype (a loss computed in f32): compute in x's dtype.
  return contiguous(grad_out.dtype() == x.dtype() ? grad_out : to(grad_out, x.dtype()));
}

// A gradient output of `like`'s shape, or undefined when not wanted. Zeros when the input is
// empty, since then the kernel has no element to write.
Tensor grad_output(bool want, const Dims& shape, const Tensor& x) {
  if (!want) return Tensor();
  return x.numel() == 0 ? zeros(shape, x.options()) : empty(shape, x.options());
}

// LayerNorm geometry: [B, L, D] with B the leading dim when AdaLN's per-sample scale/shift is
// used; plain LayerNorm uses B = 1 so the weight/bias reduction is split over all rows.
Dims layer_norm_stats_shape(const Tensor& x, bool adaptive) {
  const int64_t D = x.shape()[x.dim() - 1];
  const int64_t rows = D == 0 ? 0 : x.numel() / D;
  if (!adaptive) return {1, rows};
  const int64_t B = x.shape()[0];
  return {B, B == 0 ? 0 : rows / B};
}

}  // namespace

NormResult group_norm(const Tensor& x, int64_t groups, const Tensor& weight, const Tensor& bias,
                      double eps, bool silu) {
  const char* op = "group_norm";
  check_input(op, x);
  TRIP_CHECK(x.dim() >= 2, "{}: expected an input [N, C, *] of at least 2 dims, got shape {}", op,
             x.shape());
  const int64_t N = x.shape()[0], C = x.shape()[1];
  TRIP_CHECK(groups > 0 && C % groups == 0,
             "{}: {} channels are not divisible by groups = {} (input shape {})", op, C, groups,
             x.shape());
  TRIP_CHECK(eps >= 0, "{}: eps must be >= 0, got {}", op, eps);
  Tensor w = checked_param(op, "weight", weight, x, {C});
  Tensor b = checked_param(op, "bias", bias, x, {C});
  Tensor xc = contiguous(x);
  TensorOptions stats{stats_dtype(x.dtype()), x.device()};
  NormResult r{empty(x.shape(), x.options()), empty({N, groups}, stats), empty({N, groups}, stats)};
  if (x.numel() > 0) {
    backend(x.device()).group_norm_forward(xc, w, b, groups, eps, silu, r.out, r.mean, r.rstd);
  }
  return r;
}

NormGrads group_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                              const Tensor& bias, const NormResult& saved, int64_t groups,
                              bool silu, bool need_x, bool need_weight, bool need_bias) {
  const char* op = "group_norm_backward";
  check_input(op, x);
  TRIP_CHECK(x.dim() >= 2 && groups > 0 && x.shape()[1] % groups == 0,
             "{}: input shape {} does not split into {} groups", op, x.shape(), groups);
  const int64_t N = x.shape()[0], C = x.shape()[1];
  Tensor w = checked_param(op, "weight", weight, x, {C});
  Tensor b = checked_param(op, "bias", bias, x, {C});
  Tensor g = checked_grad(op, grad_out, x, saved, {N, groups});
  NormGrads r;
  r.x = grad_output(need_x, x.shape(), x);
  r.weight = grad_output(need_weight, {C}, x);
  r.bias = grad_output(need_bias, {C}, x);
  if (x.numel() > 0 && (need_x || need_weight || need_bias)) {
    backend(x.device())
        .group_norm_backward(g, contiguous(x), w, b, contiguous(saved.mean), contiguous(saved.rstd),
                             groups, silu, r.x, r.weight, r.bias);
  }
  return r;
}

NormResult layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                      const Tensor& scale, const Tensor& shift, double eps) {
  const bool adaptive = scale.defined() || shift.defined();
  const char* op = adaptive ? "ada_layer_norm" : "layer_norm";
  check_input(op, x);
  TRIP_CHECK(x.dim() >= (adaptive ? 2 : 1),
             "{}: expected an input [{}D] of at least {} dims, got shape {}", op,
             adaptive ? "B, ..., " : "..., ", adaptive ? 2 : 1, x.shape());
  TRIP_CHECK(eps >= 0, "{}: eps must be >= 0, got {}", op, eps);
  const int64_t D = x.shape()[x.dim() - 1];
  TRIP_CHECK(!adaptive || (scale.defined() && shift.defined()),
             "{}: scale and shift must both be given", op);
  Tensor w = checked_param(op, "weight", weight, x, {D});
  Tensor b = checked_param(op, "bias", bias, x, {D});
  Tensor sc = adaptive ? checked_param(op, "scale", scale, x, {x.shape()[0], D}) : Tensor();
  Tensor sh = adaptive ? checked_param(op, "shift", shift, x, {x.shape()[0], D}) : Tensor();
  Dims stats_shape = layer_norm_stats_shape(x, adaptive);
  TensorOptions stats{stats_dtype(x.dtype()), x.device()};
  NormResult r{empty(x.shape(), x.options()), empty(stats_shape, stats), empty(stats_shape, stats)};
  if (x.numel() > 0) {
    backend(x.device()).layer_norm_forward(contiguous(x), w, b, sc, sh, eps, r.out, r.mean, r.rstd);
  }
  return r;
}

NormGrads layer_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                              const Tensor& bias, const Tensor& scale, const Tensor& shift,
                              const NormResult& saved, bool need_x, bool need_weight,
                              bool need_bias, bool need_scale, bool need_shift) {
  const bool adaptive = scale.defined() || shift.defined();
  const char* op = adaptive ? "ada_layer_norm_backward" : "layer_norm_backward";
  check_input(op, x);
  TRIP_CHECK(x.dim() >= (adaptive ? 2 : 1), "{}: input of shape {} has too few dims", op,
             x.shape());
  TRIP_CHECK(!adaptive || (scale.defined() && shift.defined()),
             "{}: scale and shift must both be given", op);
  TRIP_CHECK(adaptive || (!need_scale && !need_shift),
             "{}: scale/shift gradients asked for without scale/shift", op);
  const int64_t D = x.shape()[x.dim() - 1];
  Tensor w = checked_param(op, "weight", weight, x, {D});
  Tensor b = checked_param(op, "bias", bias, x, {D});
  Tensor sc = adaptive ? checked_param(op, "scale", scale, x, {x.shape()[0], D}) : Tensor();
  Tensor sh = adaptive ? checked_param(op, "shift", shift, x, {x.shape()[0], D}) : Tensor();
  Tensor g = checked_grad(op, grad_out, x, saved, layer_norm_stats_shape(x, adaptive));
  NormGrads r;
  r.x = grad_output(need_x, x.shape(), x);
  r.weight = grad_output(need_weight, {D}, x);
  r.bias = grad_output(need_bias, {D}, x);
  if (adaptive) {
    r.scale = grad_output(need_scale, sc.shape(), x);
    r.shift = grad_output(need_shift, sh.shape(), x);
  }
  if (x.numel() > 0 && (need_x || need_weight || need_bias || need_scale || need_shift)) {
    backend(x.device())
        .layer_norm_backward(g, contiguous(x), w, b, sc, sh, contiguous(saved.mean),
                             contiguous(saved.rstd), r.x, r.weight, r.bias, r.scale, r.shift);
  }
  return r;
}

}  // namespace trip::ops
