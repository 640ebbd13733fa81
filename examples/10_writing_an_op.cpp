// Lesson 10: writing an op — a fused SiLU-multiply, out = silu(a) * b, in the three places.
//
// Gated feed-forward layers (SwiGLU; our transformers' GEGLU is the GELU cousin) compute
// silu(a) * b with silu(a) = a sigmoid(a). Composed from existing ops that is two kernels and an
// intermediate tensor silu(a) that is written, read again, and kept alive for the backward pass.
// A fused op reads a and b once, writes the result once, and saves only its inputs. With
// s = sigmoid(a), its derivatives are
//     d out / d a = b s (1 + a (1 - s)),      d out / d b = a s.
// The README's "How to add an op" names three places, all shown in this one file:
//   1. the kernel: the per-element math in a header shared by CPU and CUDA (in the library:
//      tensor/elementwise_math.h, marked TRIP_HD), a loop over raw buffers (tensor/cpu/, with a
//      CUDA twin in tensor/cuda/), and a checked entry point (tensor/ops.h) that validates the
//      operands and lays them out contiguously before the kernel sees a pointer;
//   2. the autograd entry: forward and backward side by side, put in the graph by record()
//      (autograd/record.h; in the library in autograd/<family>.cpp, declared in functions.h);
//   3. one entry in the op test table (tests/op_table_<family>.cpp), which generates the checks
//      written out below: forward against a reference at several shapes (odd ones, empty, a
//      non-contiguous view), the float64 finite-difference gradcheck, and bad inputs.
//
// What to look at: fused and composed agree to rounding (f32 ~1e-7, f64 ~1e-16), the gradcheck
// passes, the graphs (one node instead of two), and the clear error for each bad input.
// Run: build/examples/10_writing_an_op [--quick] [--seed N]
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "autograd/record.h"
#include "examples/lesson.h"
#include "tensor/error.h"

using namespace trip;

// ---- place 1a: the per-element math (C is the compute type) ----
template <typename C>
C silu_mul_math(C a, C b) {
  return a / (C(1) + std::exp(-a)) * b;
}
template <typename C>
void silu_mul_grad_math(C a, C b, C g, C& ga, C& gb) {
  const C s = C(1) / (C(1) + std::exp(-a));
  ga = g * b * s * (C(1) + a * (C(1) - s));
  gb = g * a * s;
}

// ---- place 1b: the kernels, loops over contiguous raw buffers of n elements ----
template <typename T>
void silu_mul_kernel(const T* a, const T* b, T* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = silu_mul_math(a[i], b[i]);
}
template <typename T>
void silu_mul_backward_kernel(const T* a, const T* b, const T* g, T* ga, T* gb, int64_t n) {
  for (int64_t i = 0; i < n; ++i) silu_mul_grad_math(a[i], b[i], g[i], ga[i], gb[i]);
}

// ---- place 1c: the checked entry points; no gradients here (trip::ops level) ----
static void check_operands(const char* op, const Tensor& a, const Tensor& b) {
  TRIP_CHECK(a.shape() == b.shape(), "{}: shapes {} and {} differ (this op does not broadcast)", op,
             a.shape(), b.shape());
  TRIP_CHECK(a.dtype() == b.dtype() && (a.dtype() == DType::f32 || a.dtype() == DType::f64),
             "{}: expected two f32 or two f64 tensors, got {} and {}", op, a.dtype(), b.dtype());
  TRIP_CHECK(a.device() == kCPU && b.device() == kCPU, "{}: CPU only, got {} and {}", op,
             a.device(), b.device());
}
// Calls fn(T{}) with T the C++ element type of a checked dtype (float or double).
template <typename Fn>
void dispatch(DType dtype, Fn fn) {
  dtype == DType::f32 ? fn(float{}) : fn(double{});
}
Tensor silu_mul_forward(const Tensor& a, const Tensor& b) {
  check_operands("silu_mul", a, b);
  const Tensor ac = ops::contiguous(a), bc = ops::contiguous(b);  // views become dense buffers
  Tensor out = empty(a.shape(), a.options());
  dispatch(a.dtype(), [&]<typename T>(T) {
    silu_mul_kernel(ac.data<T>(), bc.data<T>(), out.data<T>(), out.numel());
  });
  return out;
}
// g is the gradient of out; the engine has checked that it has out's shape and dtype.
std::pair<Tensor, Tensor> silu_mul_backward(const Tensor& a, const Tensor& b, const Tensor& g) {
  const Tensor ac = ops::contiguous(a), bc = ops::contiguous(b), gc = ops::contiguous(g);
  Tensor ga = empty(a.shape(), a.options()), gb = empty(a.shape(), a.options());
  dispatch(a.dtype(), [&]<typename T>(T) {
    silu_mul_backward_kernel(ac.data<T>(), bc.data<T>(), gc.data<T>(), ga.data<T>(), gb.data<T>(),
                             a.numel());
  });
  return {ga, gb};
}

// ---- place 2: the autograd entry, forward and backward side by side ----
// save() keeps a and b for backward without their graphs and throws if they change in place.
Tensor silu_mul(const Tensor& a, const Tensor& b) {
  return record("SiluMulBackward", silu_mul_forward(a, b), {a, b},
                [a = save(a), b = save(b)](const Tensor& g) {
                  auto [ga, gb] = silu_mul_backward(a.get(), b.get(), g);
                  return Grads{ga, gb};  // one gradient per input, in the order of {a, b}
                });
}

// ---- place 3: the checks the op table would generate ----
static bool check(bool ok, const std::string& what) {
  fmt::print("  {:<4} {}\n", ok ? "ok" : "FAIL", what);
  return ok;
}

int main(int argc, char** argv) {
  const LessonArgs args = parse_lesson_args(argc, argv);
  manual_seed(args.seed);
  bool ok = true;
  std::vector<Dims> shapes = {{7, 13}, {1}, {}, {0, 3}, {2, 3, 4, 5, 6}, {100003}};
  if (!args.quick) shapes.push_back({1 << 22});

  fmt::print("forward: fused vs silu(a) * b composed from existing ops\n");
  for (DType dtype : {DType::f32, DType::f64}) {
    const double tol = dtype == DType::f32 ? 1e-6 : 1e-14;
    for (const Dims& shape : shapes) {
      const Tensor a = randn(shape, dtype) * 4.0, b = randn(shape, dtype);
      const Tensor fused = silu_mul(a, b), composed = silu(a) * b;
      // Relative to the largest value (amax of an empty tensor is an error: compare shapes only).
      const double err = a.numel() == 0 ? 0.0
                                        : amax(abs(fused - composed)).item() /
                                              std::max(1.0, amax(abs(composed)).item());
      ok &= check(fused.shape() == shape && err <= tol,
                  fmt::format("{} {}: max relative error {:.1e}", dtype, shape, err));
    }
  }
  const Tensor at = transpose(randn({13, 7}), 0, 1), bt = randn({7, 13});
  ok &= check(amax(abs(silu_mul(at, bt) - silu(at) * bt)).item() <= 1e-6,
              "non-contiguous view (a transposed)");

  fmt::print("float64 gradcheck (central differences vs backward):\n");
  for (const Dims& shape : std::vector<Dims>{{7, 13}, {3, 1, 5}, {}}) {
    const Tensor a = randn(shape, DType::f64).set_requires_grad();
    const Tensor b = randn(shape, DType::f64).set_requires_grad();
    const GradcheckResult r =
        gradcheck([](const std::vector<Tensor>& x) { return silu_mul(x[0], x[1]); }, {a, b});
    ok &= check(r.ok, fmt::format("{}: {}", shape, r.message));
  }

  fmt::print("backward, fused vs composed (f32), and the graphs (node <- its inputs' nodes):\n");
  const Tensor a = randn({1000}) * 4.0, b = randn({1000}), g = randn({1000});
  std::vector<Tensor> grads;  // a.grad, b.grad of the fused op, then of the composed one
  for (bool fused : {true, false}) {
    Tensor ar = clone(a).set_requires_grad(), br = clone(b).set_requires_grad();
    const Tensor out = fused ? silu_mul(ar, br) : silu(ar) * br;
    fmt::print("  {} <-", out.grad_fn()->name);
    for (const Edge& e : out.grad_fn()->next) fmt::print(" {}", e.node->name);
    fmt::print("\n");
    out.backward(g);
    grads.insert(grads.end(), {ar.grad(), br.grad()});
  }
  for (int i : {0, 1}) {
    const double err = amax(abs(grads[i] - grads[i + 2])).item() / amax(abs(grads[i + 2])).item();
    ok &=
        check(err <= 1e-6, fmt::format("gradient of {}: max relative error {:.1e}", "ab"[i], err));
  }

  fmt::print("bad inputs:\n");
  auto expect_error = [&](const char* what, auto call) {
    try {
      call();
      ok &= check(false, fmt::format("{}: no error", what));
    } catch (const Error& e) {
      ok &= check(true, fmt::format("{}: {}", what, e.what()));
    }
  };
  expect_error("shapes", [] { silu_mul(zeros({2, 3}), zeros({3, 2})); });
  expect_error("dtypes", [] { silu_mul(zeros({2}), zeros({2}, DType::f64)); });
  expect_error("integers", [] { silu_mul(zeros({2}, DType::i32), zeros({2}, DType::i32)); });

  fmt::print("{}\n", ok ? "ok: silu_mul is ready for the library" : "FAILED");
  return ok ? 0 : 1;
}
