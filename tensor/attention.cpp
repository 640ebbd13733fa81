// Scaled dot-product attention: the checked op API in front of the fused kernels
// (tensor/cpu/attention.cpp, tensor/cuda/attention.cu). Kernels get contiguous operands of one
// dtype on one device and never have to re-check shapes.
#include <atomic>
#include <cstdlib>
#include <string>

#include "tensor/backend.h"
#include "tensor/ops.h"

namespace trip::ops {

namespace {

// -1 until first asked: then TRIP_ATTENTION, or set_attention_backend's choice.
std::atomic<int> g_attention_backend{-1};

// lse keeps the accumulation precision of the kernels: f64 for f64, f32 for everything else.
DType lse_dtype(DType t) { return t == DType::f64 ? DType::f64 : DType::f32; }

void check_operands(const char* op, const Tensor& q, const Tensor& k, const Tensor& v) {
  TRIP_CHECK(q.defined() && k.defined() && v.defined(), "{}: q, k and v must be defined", op);
  TRIP_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4,
             "{}: expected q, k, v of rank 4 [B, H, L, Dh], got q {}, k {}, v {}", op, q.shape(),
             k.shape(), v.shape());
  TRIP_CHECK(q.device() == k.device() && q.device() == v.device(),
             "{}: q, k, v on different devices ({}, {}, {})", op, q.device(), k.device(),
             v.device());
  TRIP_CHECK(is_floating(q.dtype()), "{}: expected a floating dtype, got {}", op, q.dtype());
  TRIP_CHECK(q.dtype() == k.dtype() && q.dtype() == v.dtype(),
             "{}: q, k, v must have one dtype, got {}, {}, {}", op, q.dtype(), k.dtype(),
             v.dtype());
  TRIP_CHECK(q.size(0) == k.size(0) && q.size(0) == v.size(0) && q.size(1) == k.size(1) &&
                 q.size(1) == v.size(1),
             "{}: batch and head dims [B, H] differ: q {}, k {}, v {}", op, q.shape(), k.shape(),
             v.shape());
  TRIP_CHECK(q.size(3) == k.size(3) && q.size(3) == v.size(3),
             "{}: head dim Dh differs: q {}, k {}, v {} (value dims other than Dh are not "
             "supported)",
             op, q.shape(), k.shape(), v.shape());
  TRIP_CHECK(k.size(2) == v.size(2), "{}: k and v lengths differ: k {}, v {}", op, k.shape(),
             v.shape());
  // softmax over zero keys is undefined (PyTorch returns NaN); refuse rather than guess.
  TRIP_CHECK(k.size(2) > 0 || q.size(2) == 0 || q.size(0) * q.size(1) == 0,
             "{}: k and v have no keys (Lk = 0): q {}, k {}", op, q.shape(), k.shape());
}

}  // namespace

AttentionBackend attention_backend() {
  int b = g_attention_backend.load();
  if (b < 0) {
    const char* env = std::getenv("TRIP_ATTENTION");
    std::string name = env ? env : "own";
    TRIP_CHECK(name == "own" || name == "cudnn" || name.empty(),
               "TRIP_ATTENTION must be 'own' or 'cudnn', got '{}'", name);
    b = int(name == "cudnn" ? AttentionBackend::cudnn : AttentionBackend::own);
    int expected = -1;
    if (!g_attention_backend.compare_exchange_strong(expected, b)) b = expected;
  }
  return AttentionBackend(b);
}

void set_attention_backend(AttentionBackend backend) { g_attention_backend = int(backend); }

AttentionResult attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale) {
  check_operands("attention", q, k, v);
  Tensor qc = contiguous(q), kc = contiguous(k), vc = contiguous(v);
  AttentionResult r;
  r.out = empty(q.shape(), q.options());
  r.lse = empty({q.size(0), q.size(1), q.size(2)}, TensorOptions(lse_dtype(q.dtype()), q.device()));
  if (r.lse.numel() == 0) return r;
  backend(q.device()).attention_forward(qc, kc, vc, scale, r.out, r.lse);
  return r;
}

AttentionGrads attention_backward(const Tensor& grad_out, const Tensor& q, const Tensor& k,
                                  const Tensor& v, const AttentionResult& saved, double scale) {
  const char* op = "attention_backward";
  check_operands(op, q, k, v);
  TRIP_CHECK(grad_out.defined() && grad_out.shape() == q.shape(),
             "{}: grad_out must have the output's shape {}, got {}", op, q.shape(),
             grad_out.defined() ? grad_out.shape() : Dims{});
  TRIP_CHECK(
      saved.out.defined() && saved.out.shape() == q.shape() && saved.out.dtype() == q.dtype(),
      "{}: saved out must be {} {}", op, q.shape(), q.dtype());
  Dims lse_shape{q.size(0), q.size(1), q.size(2)};
  TRIP_CHECK(saved.lse.defined() && saved.lse.shape() == lse_shape &&
                 saved.lse.dtype() == lse_dtype(q.dtype()),
             "{}: saved lse must be {} {}", op, lse_shape, lse_dtype(q.dtype()));
  TRIP_CHECK(grad_out.device() == q.device() && saved.out.device() == q.device() &&
                 saved.lse.device() == q.device(),
             "{}: grad_out ({}) and saved tensors must be on q's device {}", op, grad_out.device(),
             q.device());
  // The gradient may come in another floating dtype (the engine sums in whatever it gets).
  Tensor g = contiguous(to(grad_out, q.dtype()));
  AttentionGrads grads;
  grads.q = empty(q.shape(), q.options());
  grads.k = empty(k.shape(), k.options());
  grads.v = empty(v.shape(), v.options());
  if (q.numel() == 0 || k.numel() == 0) {
    // Nothing to sum over: every gradient is an empty sum.
    fill_(grads.q, 0.0), fill_(grads.k, 0.0), fill_(grads.v, 0.0);
    return grads;
  }
  backend(q.device())
      .attention_backward(g, contiguous(q), contiguous(k), contiguous(v), contiguous(saved.out),
                          contiguous(saved.lse), scale, grads.q, grads.k, grads.v);
  return grads;
}

}  // namespace trip::ops
