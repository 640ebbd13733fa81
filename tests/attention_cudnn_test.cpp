// Attention backend selection (ops::attention_backend, TRIP_ATTENTION), the cuDNN graphs'
// descriptors (checked without a GPU), and cuDNN's fused attention (tensor/cuda/attention_cudnn.cu)
// against the CPU kernels: bf16/f16 forward, lse and gradients; the fallbacks (f32, head dims cuDNN
// refuses); and a forward of our kernel followed by a cuDNN backward (the saved lse must mean the
// same). The GPU cases skip without a device.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "tensor/backend.h"
#include "tests/test_compare.h"

using namespace trip;

namespace {

Tensor input(const Dims& shape, uint64_t seed, DType dtype) {
  ops::Generator gen{seed, 0};
  return ops::to(ops::randn(shape, DType::f64, &gen), dtype);
}

// Largest difference relative to the reference's scale (max |b|, at least 1); NaN fails.
double scaled_diff(const Tensor& a, const Tensor& b) {
  std::vector<double> x = ops::to(a, kCPU).to_vector<double>();
  std::vector<double> y = ops::to(b, kCPU).to_vector<double>();
  REQUIRE(x.size() == y.size());
  double scale = 1, worst = 0;
  for (double e : y) scale = std::max(scale, std::fabs(e));
  for (size_t i = 0; i < x.size(); ++i) {
    double d = std::fabs(x[i] - y[i]);
    worst = test::worse(worst, d);
  }
  return worst / scale;
}

// out, lse and the q/k/v gradients of sum(out * w), through the op API, on `device`.
std::vector<Tensor> run(const Tensor& q0, const Tensor& k0, const Tensor& v0, const Tensor& w0,
                        Device device, double scale) {
  Tensor q = ops::to(q0, device), k = ops::to(k0, device), v = ops::to(v0, device);
  ops::AttentionResult r = ops::attention(q, k, v, scale);
  ops::AttentionGrads g = ops::attention_backward(ops::to(w0, device), q, k, v, r, scale);
  return {r.out, r.lse, g.q, g.k, g.v};
}

struct BackendGuard {
  ops::AttentionBackend saved = ops::attention_backend();
  explicit BackendGuard(ops::AttentionBackend b) { ops::set_attention_backend(b); }
  ~BackendGuard() { ops::set_attention_backend(saved); }
};

struct Case {
  int64_t b, h, lq, lk, dh;
};

}  // namespace

TEST_CASE("attention backend selection") {
  BackendGuard guard(ops::attention_backend());
  ops::set_attention_backend(ops::AttentionBackend::cudnn);
  CHECK(ops::attention_backend() == ops::AttentionBackend::cudnn);
  // The CPU ignores the choice.
  Tensor q = input({1, 2, 5, 8}, 1, DType::f32), k = input({1, 2, 6, 8}, 2, DType::f32);
  Tensor v = input({1, 2, 6, 8}, 3, DType::f32);
  Tensor a = ops::attention(q, k, v, 0.3).out;
  ops::set_attention_backend(ops::AttentionBackend::own);
  CHECK(ops::attention_backend() == ops::AttentionBackend::own);
  CHECK(scaled_diff(a, ops::attention(q, k, v, 0.3).out) == 0);
}

TEST_CASE("attention: cuDNN accepts the descriptors of every attention graph (no GPU needed)") {
  std::string err = ops::cudnn_attention_self_check();
  if (err.rfind("no cuDNN", 0) == 0) {
    MESSAGE("skipped: ", err);
    return;
  }
  CHECK_MESSAGE(err.empty(), err);
}

TEST_CASE("attention: cuDNN fused attention matches the CPU (bf16, f16)") {
  if (!cuda_available()) {
    MESSAGE("skipped: no usable CUDA device (the cuDNN attention path needs one)");
    return;
  }
  BackendGuard guard(ops::AttentionBackend::cudnn);
  // Square and cross attention, lengths that are not multiples of the engines' tiles, one query,
  // and the head dims 32/64/128.
  for (Case c : std::vector<Case>{{1, 4, 16, 16, 64},
                                  {2, 3, 77, 130, 32},
                                  {1, 2, 200, 65, 128},
                                  {2, 2, 256, 256, 64},
                                  {1, 1, 1, 300, 64}}) {
    for (DType dtype : {DType::bf16, DType::f16}) {
      CAPTURE(c.lq);
      CAPTURE(c.lk);
      CAPTURE(c.dh);
      CAPTURE(dtype_name(dtype));
      Tensor q = input({c.b, c.h, c.lq, c.dh}, 31, dtype);
      Tensor k = input({c.b, c.h, c.lk, c.dh}, 32, dtype);
      Tensor v = input({c.b, c.h, c.lk, c.dh}, 33, dtype);
      Tensor w = input({c.b, c.h, c.lq, c.dh}, 34, dtype);
      const double scale = 1.0 / std::sqrt(double(c.dh));
      std::vector<Tensor> cpu = run(q, k, v, w, kCPU, scale);
      const int64_t before = ops::cudnn_attention_runs();
      std::vector<Tensor> gpu = run(q, k, v, w, trip::cuda(0), scale);
      // Both the forward and the backward ran on cuDNN (a declined shape prints why on stderr).
      CHECK(ops::cudnn_attention_runs() == before + 2);
      const char* names[] = {"out", "lse", "grad q", "grad k", "grad v"};
      for (size_t i = 0; i < cpu.size(); ++i) {
        CAPTURE(names[i]);
        // lse is f32 from the same rounded inputs. cuDNN also rounds P and dS to the input dtype
        // before their matmuls (our kernels keep them in f32), hence twice the tolerance of
        // attention_test.cpp's CPU-vs-CUDA check; a wrong graph is off by O(1).
        double tol = i == 1 ? 1e-4 : dtype == DType::bf16 ? 4e-2 : 1e-2;
        CHECK(scaled_diff(gpu[i], cpu[i]) < tol);
      }
    }
  }
}

TEST_CASE("attention: with cuDNN selected, f32 and head dims it refuses run our kernel") {
  if (!cuda_available()) {
    MESSAGE("skipped: no usable CUDA device");
    return;
  }
  BackendGuard guard(ops::AttentionBackend::cudnn);
  for (auto [dtype, dh] :
       std::vector<std::pair<DType, int64_t>>{{DType::f32, 64}, {DType::bf16, 12}}) {
    CAPTURE(dtype_name(dtype));
    Tensor q = input({1, 2, 33, dh}, 41, dtype), k = input({1, 2, 50, dh}, 42, dtype);
    Tensor v = input({1, 2, 50, dh}, 43, dtype), w = input({1, 2, 33, dh}, 44, dtype);
    std::vector<Tensor> cpu = run(q, k, v, w, kCPU, 0.3);
    const int64_t before = ops::cudnn_attention_runs();
    std::vector<Tensor> gpu = run(q, k, v, w, trip::cuda(0), 0.3);
    CHECK(ops::cudnn_attention_runs() == before);
    for (size_t i = 0; i < cpu.size(); ++i) {
      CAPTURE(i);
      CHECK(scaled_diff(gpu[i], cpu[i]) < (dtype == DType::f32 ? 3e-5 : 2e-2));
    }
  }
}

TEST_CASE("attention: our forward, then cuDNN's backward from its saved lse") {
  if (!cuda_available()) {
    MESSAGE("skipped: no usable CUDA device");
    return;
  }
  const Device gpu = trip::cuda(0);
  Tensor q = ops::to(input({2, 2, 90, 64}, 51, DType::bf16), gpu);
  Tensor k = ops::to(input({2, 2, 70, 64}, 52, DType::bf16), gpu);
  Tensor v = ops::to(input({2, 2, 70, 64}, 53, DType::bf16), gpu);
  Tensor w = ops::to(input({2, 2, 90, 64}, 54, DType::bf16), gpu);
  ops::AttentionResult saved;
  ops::AttentionGrads own;
  {
    BackendGuard guard(ops::AttentionBackend::own);
    saved = ops::attention(q, k, v, 0.125);
    own = ops::attention_backward(w, q, k, v, saved, 0.125);
  }
  BackendGuard guard(ops::AttentionBackend::cudnn);
  const int64_t before = ops::cudnn_attention_runs();
  ops::AttentionGrads mixed = ops::attention_backward(w, q, k, v, saved, 0.125);
  CHECK(ops::cudnn_attention_runs() == before + 1);
  CHECK(scaled_diff(mixed.q, own.q) < 4e-2);
  CHECK(scaled_diff(mixed.k, own.k) < 4e-2);
  CHECK(scaled_diff(mixed.v, own.v) < 4e-2);
}
