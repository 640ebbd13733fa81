// Scaled dot-product attention: the tiled online-softmax kernels against a naive double
// softmax(Q K^T * scale) V, float64 gradchecks, stability, error messages, thread-count
// independence and CPU vs CUDA.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "tensor/backend.h"

using namespace trip;

namespace {

Tensor input(const Dims& shape, uint64_t seed, DType dtype, double mul = 1.0) {
  ops::Generator gen{seed, 0};
  Tensor t = ops::randn(shape, DType::f64, &gen);
  if (mul != 1.0) t = ops::binary(BinaryOp::mul, t, mul);
  return ops::to(t, dtype);
}

struct Reference {
  std::vector<double> out, lse;
};

// The definition, in double, with the whole score row at once.
Reference naive(const Tensor& q, const Tensor& k, const Tensor& v, double scale) {
  int64_t bh = q.size(0) * q.size(1), lq = q.size(2), lk = k.size(2), dh = q.size(3);
  std::vector<double> Q = q.to_vector<double>(), K = k.to_vector<double>(),
                      V = v.to_vector<double>();
  Reference r{std::vector<double>(size_t(bh * lq * dh)), std::vector<double>(size_t(bh * lq))};
  std::vector<double> s(static_cast<size_t>(lk));
  for (int64_t b = 0; b < bh; ++b) {
    for (int64_t i = 0; i < lq; ++i) {
      double m = -INFINITY;
      for (int64_t j = 0; j < lk; ++j) {
        double acc = 0;
        for (int64_t c = 0; c < dh; ++c) acc += Q[(b * lq + i) * dh + c] * K[(b * lk + j) * dh + c];
        s[j] = acc * scale;
        m = std::max(m, s[j]);
      }
      double l = 0;
      for (int64_t j = 0; j < lk; ++j) l += s[j] = std::exp(s[j] - m);
      r.lse[b * lq + i] = m + std::log(l);
      for (int64_t c = 0; c < dh; ++c) {
        double acc = 0;
        for (int64_t j = 0; j < lk; ++j) acc += s[j] * V[(b * lk + j) * dh + c];
        r.out[(b * lq + i) * dh + c] = acc / l;
      }
    }
  }
  return r;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double d = std::fabs(a[i] - b[i]);
    if (d != d) return INFINITY;  // NaN always fails
    m = std::max(m, d);
  }
  return m;
}

// The largest difference relative to the reference's scale (max |b|, at least 1): what 16-bit
// rounding of results of any magnitude can be held to.
double scaled_diff(const Tensor& a, const Tensor& b) {
  std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  double scale = 1;
  for (double e : y) scale = std::max(scale, std::fabs(e));
  return max_abs_diff(x, y) / scale;
}

std::vector<unsigned char> bytes_of(const Tensor& t) {
  Tensor c = ops::contiguous(t);
  const auto* p = static_cast<const unsigned char*>(c.data_ptr());
  return std::vector<unsigned char>(p, p + c.nbytes());
}

struct PoisonGuard {
  bool saved = poison_allocations();
  PoisonGuard() { set_poison_allocations(true); }
  ~PoisonGuard() { set_poison_allocations(saved); }
};

// out and q/k/v gradients of sum(sdpa(q, k, v) * w) on the given device.
std::vector<Tensor> forward_backward(const Tensor& q0, const Tensor& k0, const Tensor& v0,
                                     const Tensor& w0, Device device) {
  // Fresh leaves each call (ops::to returns its input when it is already there), so gradients
  // never accumulate across calls.
  auto leaf = [&](const Tensor& t) { return ops::to(ops::clone(t), device); };
  Tensor q = leaf(q0), k = leaf(k0), v = leaf(v0), w = ops::to(w0, device);
  q.set_requires_grad(), k.set_requires_grad(), v.set_requires_grad();
  Tensor out = scaled_dot_product_attention(q, k, v);
  trip::sum(out * w).backward();
  return {out, q.grad(), k.grad(), v.grad()};
}

}  // namespace

TEST_CASE("attention forward matches the naive softmax(QK^T * scale) V") {
  PoisonGuard poison;
  struct Case {
    int64_t b, h, lq, lk, dh;
  };
  // Short (batched path) and long (online softmax over key tiles) sequences, odd lengths,
  // cross attention (Lk != Lq), tiles that do not divide the lengths.
  std::vector<Case> cases = {{1, 1, 1, 1, 8},   {2, 3, 7, 7, 8},      {1, 2, 7, 65, 32},
                             {1, 1, 65, 7, 64}, {1, 2, 300, 300, 32}, {2, 1, 65, 300, 64},
                             {1, 1, 300, 1, 8}, {3, 5, 16, 16, 64},   {1, 1, 1, 600, 32}};
  for (DType dtype : {DType::f32, DType::f64}) {
    for (const Case& c : cases) {
      CAPTURE(c.lq);
      CAPTURE(c.lk);
      CAPTURE(c.dh);
      CAPTURE(c.b * c.h);
      Tensor q = input({c.b, c.h, c.lq, c.dh}, 1, dtype);
      Tensor k = input({c.b, c.h, c.lk, c.dh}, 2, dtype);
      Tensor v = input({c.b, c.h, c.lk, c.dh}, 3, dtype);
      double scale = 1.0 / std::sqrt(double(c.dh));
      ops::AttentionResult r = ops::attention(q, k, v, scale);
      Reference ref = naive(q, k, v, scale);
      double tol = dtype == DType::f64 ? 1e-12 : 2e-5;
      CHECK(max_abs_diff(r.out.to_vector<double>(), ref.out) < tol);
      CHECK(max_abs_diff(r.lse.to_vector<double>(), ref.lse) < tol * 10);
      CHECK(r.lse.dtype() == (dtype == DType::f64 ? DType::f64 : DType::f32));
    }
  }
}

TEST_CASE("attention: non-contiguous inputs, bf16, default scale") {
  Tensor q = input({2, 9, 3, 16}, 4, DType::f32);  // [B, L, H, Dh] viewed as [B, H, L, Dh]
  Tensor k = input({2, 11, 3, 16}, 5, DType::f32);
  Tensor v = input({2, 11, 3, 16}, 6, DType::f32);
  Tensor qt = ops::transpose(q, 1, 2), kt = ops::transpose(k, 1, 2), vt = ops::transpose(v, 1, 2);
  Tensor out = scaled_dot_product_attention(qt, kt, vt);
  Reference ref = naive(qt, kt, vt, 0.25);
  CHECK(max_abs_diff(out.to_vector<double>(), ref.out) < 2e-5);
  Tensor out16 = scaled_dot_product_attention(ops::to(qt, DType::bf16), ops::to(kt, DType::bf16),
                                              ops::to(vt, DType::bf16));
  CHECK(out16.dtype() == DType::bf16);
  CHECK(max_abs_diff(out16.to_vector<double>(), ref.out) < 5e-2);
}

TEST_CASE("attention: bf16 and f16 on the CPU compute in f32") {
  // Short and long paths; the reference is the f32 run on the same (rounded) inputs.
  for (int64_t l : {9, 130}) {
    for (DType dtype : {DType::bf16, DType::f16}) {
      CAPTURE(l);
      Tensor q = input({1, 2, l, 16}, 41, dtype), k = input({1, 2, l + 3, 16}, 42, dtype),
             v = input({1, 2, l + 3, 16}, 43, dtype), w = input({1, 2, l, 16}, 44, dtype);
      std::vector<Tensor> low = forward_backward(q, k, v, w, kCPU);
      std::vector<Tensor> ref =
          forward_backward(ops::to(q, DType::f32), ops::to(k, DType::f32), ops::to(v, DType::f32),
                           ops::to(w, DType::f32), kCPU);
      for (size_t i = 0; i < ref.size(); ++i) {
        CAPTURE(i);
        CHECK(low[i].dtype() == dtype);
        CHECK(scaled_diff(low[i], ref[i]) < 2e-2);
      }
    }
  }
}

TEST_CASE("attention: large-magnitude scores stay finite and exact") {
  // Scores of order 1e4: exp without the running max would overflow.
  for (int64_t l : {16, 300}) {
    Tensor q = input({1, 2, l, 32}, 7, DType::f32, 30.0);
    Tensor k = input({1, 2, l, 32}, 8, DType::f32, 30.0);
    Tensor v = input({1, 2, l, 32}, 9, DType::f32);
    ops::AttentionResult r = ops::attention(q, k, v, 1.0);
    Reference ref = naive(q, k, v, 1.0);
    // The softmax is nearly one-hot; f32 rounding of scores of 1e4 moves them by ~1e-3.
    CHECK(max_abs_diff(r.out.to_vector<double>(), ref.out) < 5e-2);
    CHECK(max_abs_diff(r.lse.to_vector<double>(), ref.lse) < 1e-1);
    Tensor w = input({1, 2, l, 32}, 10, DType::f32);
    for (const Tensor& t : forward_backward(q, k, v, w, kCPU)) {
      for (double x : t.to_vector<double>()) REQUIRE(std::isfinite(x));
    }
  }
}

TEST_CASE("attention float64 gradcheck for q, k and v") {
  struct Case {
    int64_t bh, lq, lk, dh;
  };
  // Short-path shapes (a long gradcheck is slow; the next test checks the tiled paths against
  // autograd through matmul and softmax, themselves gradchecked).
  for (Case c : std::vector<Case>{{3, 5, 7, 8}, {1, 3, 1, 4}, {2, 20, 33, 3}}) {
    CAPTURE(c.lq);
    CAPTURE(c.lk);
    Tensor q = input({1, c.bh, c.lq, c.dh}, 11, DType::f64).set_requires_grad();
    Tensor k = input({1, c.bh, c.lk, c.dh}, 12, DType::f64).set_requires_grad();
    Tensor v = input({1, c.bh, c.lk, c.dh}, 13, DType::f64).set_requires_grad();
    auto fn = [](const std::vector<Tensor>& x) {
      return scaled_dot_product_attention(x[0], x[1], x[2], 0.7);
    };
    GradcheckResult r = gradcheck(fn, {q, k, v});
    CHECK_MESSAGE(r.ok, r.message);
  }
}

TEST_CASE("attention backward matches autograd through the naive composite") {
  // Long cases that a gradcheck would make slow, against matmul/softmax autograd: few heads (the
  // two-pass backward) and eight heads (one task per head), tiles not dividing the lengths.
  PoisonGuard poison;  // every gradient element must be written
  struct Case {
    int64_t b, h, lq, lk;
  };
  for (Case c : std::vector<Case>{{1, 2, 150, 270}, {2, 4, 130, 150}}) {
    CAPTURE(c.b * c.h);
    Tensor q = input({c.b, c.h, c.lq, 16}, 14, DType::f64).set_requires_grad();
    Tensor k = input({c.b, c.h, c.lk, 16}, 15, DType::f64).set_requires_grad();
    Tensor v = input({c.b, c.h, c.lk, 16}, 16, DType::f64).set_requires_grad();
    Tensor w = input({c.b, c.h, c.lq, 16}, 17, DType::f64);
    std::vector<Tensor> fused = forward_backward(q, k, v, w, kCPU);
    Tensor p = softmax(matmul(q, transpose(k, -1, -2)) * 0.25, -1);
    Tensor out = matmul(p, v);
    trip::sum(out * w).backward();
    std::vector<Tensor> ref = {out, q.grad(), k.grad(), v.grad()};
    for (size_t i = 0; i < ref.size(); ++i) {
      CAPTURE(i);
      CHECK(max_abs_diff(fused[i].to_vector<double>(), ref[i].to_vector<double>()) < 1e-11);
    }
  }
}

TEST_CASE("attention: bad inputs name the shapes") {
  auto message = [](auto fn) {
    try {
      fn();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  Tensor q = ops::zeros({2, 3, 5, 8}), k = ops::zeros({2, 3, 7, 8}), v = ops::zeros({2, 3, 7, 8});
  CHECK(message([&] {
          ops::attention(ops::zeros({3, 5, 8}), k, v, 1.0);
        }).find("rank 4") != std::string::npos);
  CHECK(message([&] {
          ops::attention(q, ops::zeros({2, 4, 7, 8}), v, 1.0);
        }).find("[2, 4, 7, 8]") != std::string::npos);
  CHECK(message([&] {
          ops::attention(q, k, ops::zeros({2, 3, 7, 4}), 1.0);
        }).find("head dim") != std::string::npos);
  CHECK(message([&] {
          ops::attention(q, k, ops::zeros({2, 3, 6, 8}), 1.0);
        }).find("lengths differ") != std::string::npos);
  CHECK(message([&] {
          ops::attention(q, ops::zeros({2, 3, 7, 8}, DType::f64), v, 1.0);
        }).find("one dtype") != std::string::npos);
  CHECK(message([&] {
          ops::attention(q, ops::zeros({2, 3, 0, 8}), ops::zeros({2, 3, 0, 8}), 1.0);
        }).find("no keys") != std::string::npos);
  CHECK(message([&] {
          ops::attention(ops::zeros({2, 3, 5, 8}, DType::i32), ops::zeros({2, 3, 7, 8}, DType::i32),
                         ops::zeros({2, 3, 7, 8}, DType::i32), 1.0);
        }).find("floating") != std::string::npos);
}

TEST_CASE("attention results do not depend on the thread count") {
  struct Case {
    int64_t bh, lq, lk, dh;
  };
  for (Case c : std::vector<Case>{{64, 16, 16, 32}, {3, 200, 330, 32}, {8, 130, 150, 16}}) {
    Tensor q = input({1, c.bh, c.lq, c.dh}, 21, DType::f32);
    Tensor k = input({1, c.bh, c.lk, c.dh}, 22, DType::f32);
    Tensor v = input({1, c.bh, c.lk, c.dh}, 23, DType::f32);
    Tensor w = input({1, c.bh, c.lq, c.dh}, 24, DType::f32);
    int saved = omp_get_max_threads();
    std::vector<std::vector<unsigned char>> runs[2];
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      for (const Tensor& t : forward_backward(q, k, v, w, kCPU)) {
        runs[threads - 1].push_back(bytes_of(t));
      }
    }
    omp_set_num_threads(saved);
    for (size_t i = 0; i < runs[0].size(); ++i) {
      CAPTURE(i);
      CHECK(runs[0][i] == runs[1][i]);
    }
  }
}

TEST_CASE("attention: CPU vs CUDA") {
  if (!cuda_available()) {
    MESSAGE("skipped: no CUDA device");
    return;
  }
  struct Case {
    int64_t bh, lq, lk, dh;
  };
  for (Case c :
       std::vector<Case>{{4, 16, 16, 64}, {2, 77, 130, 32}, {2, 200, 65, 128}, {2, 33, 50, 16}}) {
    for (DType dtype : {DType::f32, DType::bf16}) {
      CAPTURE(c.lq);
      CAPTURE(c.lk);
      CAPTURE(c.dh);
      CAPTURE(dtype_name(dtype));
      Tensor q = input({1, c.bh, c.lq, c.dh}, 31, dtype);
      Tensor k = input({1, c.bh, c.lk, c.dh}, 32, dtype);
      Tensor v = input({1, c.bh, c.lk, c.dh}, 33, dtype);
      Tensor w = input({1, c.bh, c.lq, c.dh}, 34, dtype);
      std::vector<Tensor> cpu = forward_backward(q, k, v, w, kCPU);
      std::vector<Tensor> gpu = forward_backward(q, k, v, w, trip::cuda(0));
      double tol = dtype == DType::f32 ? 3e-5 : 2e-2;
      for (size_t i = 0; i < cpu.size(); ++i) {
        CAPTURE(i);
        CHECK(scaled_diff(gpu[i], cpu[i]) < tol);
      }
    }
  }
}
