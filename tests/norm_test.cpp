// GroupNorm (+ SiLU), LayerNorm and AdaLN: forward against naive double references (odd and
// 5-d video shapes, every grouping, with and without affine parameters, a large-mean input),
// float64 gradchecks, bad-input errors, thread-count independence and CPU vs CUDA.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <omp.h>

#include <cmath>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "tensor/backend.h"

using namespace trip;

namespace {

struct PoisonScope {  // freshly allocated outputs are garbage unless the kernel writes them
  PoisonScope() { set_poison_allocations(true); }
  ~PoisonScope() { set_poison_allocations(false); }
};

Tensor random_tensor(const Dims& shape, uint64_t seed, DType dtype = DType::f64,
                     double mean = 0.0) {
  ops::Generator gen{seed, 0};
  Tensor t = ops::randn(shape, DType::f64, &gen);
  if (mean != 0.0) t = ops::binary(BinaryOp::add, t, mean);
  return ops::to(t, dtype);
}

std::vector<double> values(const Tensor& t) {
  return ops::contiguous(ops::to(ops::to(t, kCPU), DType::f64)).to_vector<double>();
}

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// Naive GroupNorm over x [N, C, S...] in double: two passes, biased variance, eps in the sqrt.
std::vector<double> group_norm_ref(const Tensor& x, int64_t groups, const Tensor& w,
                                   const Tensor& b, double eps, bool silu) {
  std::vector<double> xv = values(x), wv = w.defined() ? values(w) : std::vector<double>{};
  std::vector<double> bv = b.defined() ? values(b) : std::vector<double>{};
  const int64_t N = x.shape()[0], C = x.shape()[1], S = x.numel() / (N * C), cg = C / groups;
  std::vector<double> y(xv.size());
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t base = (n * C + g * cg) * S, len = cg * S;
      double mean = 0, var = 0;
      for (int64_t i = 0; i < len; ++i) mean += xv[size_t(base + i)];
      mean /= double(len);
      for (int64_t i = 0; i < len; ++i) var += std::pow(xv[size_t(base + i)] - mean, 2);
      var /= double(len);
      for (int64_t i = 0; i < len; ++i) {
        const int64_t c = g * cg + i / S;
        double v = (xv[size_t(base + i)] - mean) / std::sqrt(var + eps);
        if (w.defined()) v *= wv[size_t(c)];
        if (b.defined()) v += bv[size_t(c)];
        y[size_t(base + i)] = silu ? v * sigmoid(v) : v;
      }
    }
  }
  return y;
}

// Naive (Ada)LayerNorm over the last dim; scale/shift [B, D] index by the leading dim.
std::vector<double> layer_norm_ref(const Tensor& x, const Tensor& w, const Tensor& b,
                                   const Tensor& scale, const Tensor& shift, double eps) {
  std::vector<double> xv = values(x), y(xv.size());
  const int64_t D = x.shape()[x.dim() - 1], rows = x.numel() / D, per_b = rows / x.shape()[0];
  for (int64_t row = 0; row < rows; ++row) {
    double mean = 0, var = 0;
    for (int64_t d = 0; d < D; ++d) mean += xv[size_t(row * D + d)];
    mean /= double(D);
    for (int64_t d = 0; d < D; ++d) var += std::pow(xv[size_t(row * D + d)] - mean, 2);
    var /= double(D);
    for (int64_t d = 0; d < D; ++d) {
      double v = (xv[size_t(row * D + d)] - mean) / std::sqrt(var + eps);
      if (w.defined()) v *= values(w)[size_t(d)];
      if (b.defined()) v += values(b)[size_t(d)];
      if (scale.defined()) {  // per_b is 0 for 1-d inputs, which never carry scale/shift
        const size_t bd = size_t((row / per_b) * D + d);
        v = v * (1 + values(scale)[bd]) + values(shift)[bd];
      }
      y[size_t(row * D + d)] = v;
    }
  }
  return y;
}

// Max |a - b| / (1 + |b|): relative for large values, absolute near 0.
double max_error(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double e = 0;
  for (size_t i = 0; i < a.size(); ++i)
    e = std::max(e, std::abs(a[i] - b[i]) / (1 + std::abs(b[i])));
  return std::isnan(e) ? INFINITY : e;
}

double tolerance(DType t) {
  return t == DType::f64 ? 1e-12 : t == DType::f32 ? 2e-5 : 3e-2;  // 16-bit: one rounding of y
}

struct GroupCase {
  Dims shape;
  int64_t groups;
};

const std::vector<GroupCase> kGroupCases = {
    {{2, 6, 5}, 3},       {{3, 4, 1}, 4},  {{1, 12, 7, 3}, 1},     {{2, 8, 3, 4, 5}, 2},
    {{2, 8, 3, 4, 5}, 8}, {{1, 5, 33}, 5}, {{2, 64, 2, 4, 4}, 32}, {{2, 3}, 1},
};

void check_grad(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                std::vector<Tensor> inputs) {
  for (Tensor& t : inputs) {
    if (t.defined()) t.set_requires_grad(true);
  }
  GradcheckResult r = gradcheck(fn, inputs);
  INFO(r.message);
  CHECK(r.ok);
}

}  // namespace

TEST_CASE("group_norm forward matches the double reference") {
  PoisonScope poison;
  uint64_t seed = 1;
  for (DType dt : {DType::f64, DType::f32, DType::bf16, DType::f16}) {
    for (const GroupCase& gc : kGroupCases) {
      for (int affine = 0; affine < 2; ++affine) {
        for (bool silu : {false, true}) {
          const int64_t C = gc.shape[1];
          Tensor x = random_tensor(gc.shape, seed++, dt, 0.5);
          Tensor w = affine ? random_tensor({C}, seed++, dt) : Tensor();
          Tensor b = affine ? random_tensor({C}, seed++, dt) : Tensor();
          const double eps = affine ? 1e-3 : 1e-5;
          ops::NormResult r = ops::group_norm(x, gc.groups, w, b, eps, silu);
          INFO(fmt::format("{} {} groups {} affine {} silu {}", dt, gc.shape, gc.groups, affine,
                           silu));
          CHECK(r.out.dtype() == dt);
          CHECK(r.mean.shape() == Dims{gc.shape[0], gc.groups});
          CHECK(r.mean.dtype() == (dt == DType::f64 ? DType::f64 : DType::f32));
          CHECK(max_error(values(r.out), group_norm_ref(x, gc.groups, w, b, eps, silu)) <=
                tolerance(dt));
        }
      }
    }
  }
}

TEST_CASE("layer_norm and ada_layer_norm forward match the double reference") {
  PoisonScope poison;
  uint64_t seed = 100;
  for (DType dt : {DType::f64, DType::f32, DType::bf16}) {
    for (const Dims& shape : {Dims{7}, Dims{3, 5}, Dims{2, 3, 33}, Dims{2, 2, 3, 16}}) {
      const int64_t D = shape[shape.size() - 1];
      for (int mode = 0; mode < 3; ++mode) {  // plain, affine, affine + adaptive
        Tensor x = random_tensor(shape, seed++, dt, -0.3);
        Tensor w = mode ? random_tensor({D}, seed++, dt) : Tensor();
        Tensor b = mode ? random_tensor({D}, seed++, dt) : Tensor();
        const bool ada = mode == 2 && shape.size() >= 2;
        Tensor sc = ada ? random_tensor({shape[0], D}, seed++, dt) : Tensor();
        Tensor sh = ada ? random_tensor({shape[0], D}, seed++, dt) : Tensor();
        ops::NormResult r = ops::layer_norm(x, w, b, sc, sh, 1e-5);
        INFO(fmt::format("{} {} mode {}", dt, shape, mode));
        CHECK(max_error(values(r.out), layer_norm_ref(x, w, b, sc, sh, 1e-5)) <= tolerance(dt));
        Tensor y = ada ? ada_layer_norm(x, sc, sh, w, b) : layer_norm(x, w, b);
        CHECK(values(y) == values(r.out));
      }
    }
  }
}

TEST_CASE("norms stay accurate with a large mean (1e4 + N(0, 1)) in f32") {
  PoisonScope poison;
  Tensor x = random_tensor({2, 8, 4, 8, 8}, 7, DType::f32, 1e4);
  CHECK(max_error(values(ops::group_norm(x, 4, Tensor(), Tensor(), 1e-5).out),
                  group_norm_ref(x, 4, Tensor(), Tensor(), 1e-5, false)) <= 2e-4);
  Tensor rows = random_tensor({4, 16, 256}, 8, DType::f32, 1e4);
  CHECK(max_error(values(ops::layer_norm(rows, Tensor(), Tensor(), Tensor(), Tensor(), 1e-5).out),
                  layer_norm_ref(rows, Tensor(), Tensor(), Tensor(), Tensor(), 1e-5)) <= 2e-4);
}

TEST_CASE("float64 gradcheck of group_norm, with and without the fused SiLU") {
  for (bool silu : {false, true}) {
    for (int affine = 0; affine < 2; ++affine) {
      INFO("silu ", silu, " affine ", affine);
      Tensor x = random_tensor({2, 6, 3, 2}, 20 + affine, DType::f64, 0.2);
      Tensor w = affine ? random_tensor({6}, 30) : Tensor();
      Tensor b = affine ? random_tensor({6}, 31) : Tensor();
      check_grad(
          [&](const std::vector<Tensor>& in) {
            return group_norm(in[0], 3, in[1], in[2], 1e-5, silu);
          },
          {x, w, b});
    }
  }
  // 5-d video shape, groups = C (instance norm) and groups = 1.
  for (int64_t groups : {1, 4}) {
    check_grad(
        [&](const std::vector<Tensor>& in) {
          return group_norm(in[0], groups, in[1], in[2], 1e-3, true);
        },
        {random_tensor({1, 4, 2, 2, 3}, 40), random_tensor({4}, 41), random_tensor({4}, 42)});
  }
}

TEST_CASE("float64 gradcheck of layer_norm and ada_layer_norm") {
  check_grad([](const std::vector<Tensor>& in) { return layer_norm(in[0], in[1], in[2]); },
             {random_tensor({3, 4, 5}, 50), random_tensor({5}, 51), random_tensor({5}, 52)});
  check_grad([](const std::vector<Tensor>& in) { return layer_norm(in[0]); },
             {random_tensor({2, 7}, 53)});
  for (const Dims& shape : {Dims{2, 3, 5}, Dims{3, 5}}) {
    INFO(fmt::format("{}", shape));
    const int64_t B = shape[0];
    check_grad(
        [](const std::vector<Tensor>& in) {
          return ada_layer_norm(in[0], in[1], in[2], in[3], in[4]);
        },
        {random_tensor(shape, 60), random_tensor({B, 5}, 61), random_tensor({B, 5}, 62),
         random_tensor({5}, 63), random_tensor({5}, 64)});
  }
  check_grad([](const std::vector<Tensor>& in) { return ada_layer_norm(in[0], in[1], in[2]); },
             {random_tensor({2, 4, 6}, 65), random_tensor({2, 6}, 66), random_tensor({2, 6}, 67)});
}

TEST_CASE("f32 backward agrees with f64 backward") {
  PoisonScope poison;
  Tensor x = random_tensor({2, 8, 3, 5, 5}, 70), w = random_tensor({8}, 71);
  Tensor b = random_tensor({8}, 72), dy = random_tensor({2, 8, 3, 5, 5}, 73);
  auto grads = [&](DType dt) {
    Tensor xd = ops::to(x, dt), wd = ops::to(w, dt), bd = ops::to(b, dt);
    ops::NormResult r = ops::group_norm(xd, 4, wd, bd, 1e-5, true);
    return ops::group_norm_backward(ops::to(dy, dt), xd, wd, bd, r, 4, true, true, true, true);
  };
  ops::NormGrads g64 = grads(DType::f64), g32 = grads(DType::f32);
  CHECK(max_error(values(g32.x), values(g64.x)) < 1e-4);
  CHECK(max_error(values(g32.weight), values(g64.weight)) < 1e-4);
  CHECK(max_error(values(g32.bias), values(g64.bias)) < 1e-4);
}

TEST_CASE("group_norm SiLU backward of a group too large to cache equals the chain rule") {
  // Groups over 2^20 elements recompute dz instead of caching it; check that path against the
  // plain GroupNorm backward fed dy * silu'(z).
  Tensor x = random_tensor({1, 2, (1 << 19) + 3}, 130), dy = random_tensor(x.shape(), 131);
  Tensor w = random_tensor({2}, 132), b = random_tensor({2}, 133);
  ops::NormResult fused = ops::group_norm(x, 1, w, b, 1e-5, true);
  ops::NormGrads g = ops::group_norm_backward(dy, x, w, b, fused, 1, true, true, true, true);
  ops::NormResult plain = ops::group_norm(x, 1, w, b, 1e-5, false);
  std::vector<double> z = values(plain.out), dyv = values(dy), dz(z.size());
  for (size_t i = 0; i < z.size(); ++i) {
    const double s = sigmoid(z[i]);
    dz[i] = dyv[i] * s * (1 + z[i] * (1 - s));
  }
  ops::NormGrads r = ops::group_norm_backward(from_vector(dz, x.shape(), DType::f64), x, w, b,
                                              plain, 1, false, true, true, true);
  CHECK(max_error(values(g.x), values(r.x)) < 1e-10);
  CHECK(max_error(values(g.weight), values(r.weight)) < 1e-10);
  CHECK(max_error(values(g.bias), values(r.bias)) < 1e-10);
}

TEST_CASE("norms reject bad inputs with clear messages") {
  Tensor x = random_tensor({2, 6, 4}, 80);
  auto throws = [](auto&& fn, const char* text) {
    CHECK_THROWS_WITH_AS(fn(), doctest::Contains(text), Error);
  };
  throws([&] { ops::group_norm(x, 4, Tensor(), Tensor(), 1e-5); }, "not divisible by groups = 4");
  throws([&] { ops::group_norm(x, 3, random_tensor({5}, 1), Tensor(), 1e-5); },
         "weight must have shape [6]");
  throws([&] { ops::group_norm(x, 3, Tensor(), random_tensor({6}, 1, DType::f32), 1e-5); },
         "bias has dtype f32");
  throws([&] { ops::group_norm(random_tensor({6}, 1), 3, Tensor(), Tensor(), 1e-5); },
         "at least 2 dims");
  throws(
      [&] {
        ops::group_norm(ops::zeros({2, 6}, DType::i64), 3, Tensor(), Tensor(), 1e-5);
      },
      "floating");
  throws(
      [&] {
        ada_layer_norm(x, random_tensor({2, 5}, 1), random_tensor({2, 4}, 2));
      },
      "scale must have shape [2, 4]");
  throws(
      [&] {
        ada_layer_norm(x, random_tensor({2, 4}, 1), random_tensor({3, 4}, 2));
      },
      "shift must have shape [2, 4]");
  throws(
      [&] {
        ops::layer_norm(x, Tensor(), Tensor(), random_tensor({2, 4}, 1), Tensor(), 1e-5);
      },
      "scale and shift must both be given");
  throws([&] { layer_norm(x, random_tensor({6}, 1)); }, "weight must have shape [4]");
}

TEST_CASE("norm results do not depend on the thread count (bitwise)") {
  Tensor x = random_tensor({8, 64, 4, 16, 16}, 90, DType::f32, 0.5);
  Tensor w = random_tensor({64}, 91, DType::f32), b = random_tensor({64}, 92, DType::f32);
  Tensor dy = random_tensor(x.shape(), 93, DType::f32);
  Tensor rows = random_tensor({4, 512, 64}, 94, DType::f32);
  Tensor sc = random_tensor({4, 64}, 95, DType::f32), sh = random_tensor({4, 64}, 96, DType::f32);
  Tensor lw = random_tensor({64}, 97, DType::f32),
         ldy = random_tensor(rows.shape(), 98, DType::f32);
  auto run = [&](int threads) {
    const int before = omp_get_max_threads();
    omp_set_num_threads(threads);
    std::vector<std::vector<double>> out;
    ops::NormResult g = ops::group_norm(x, 32, w, b, 1e-5, true);
    ops::NormGrads gg = ops::group_norm_backward(dy, x, w, b, g, 32, true, true, true, true);
    ops::NormResult l = ops::layer_norm(rows, lw, Tensor(), sc, sh, 1e-5);
    ops::NormGrads lg =
        ops::layer_norm_backward(ldy, rows, lw, Tensor(), sc, sh, l, true, true, false, true, true);
    ops::NormResult p = ops::layer_norm(rows, lw, lw, Tensor(), Tensor(), 1e-5);
    ops::NormGrads pg = ops::layer_norm_backward(ldy, rows, lw, lw, Tensor(), Tensor(), p, true,
                                                 true, true, false, false);
    for (const Tensor& t : {g.out, gg.x, gg.weight, gg.bias, l.out, lg.x, lg.weight, lg.scale,
                            lg.shift, pg.x, pg.weight, pg.bias}) {
      out.push_back(values(t));
    }
    omp_set_num_threads(before);
    return out;
  };
  CHECK(run(1) == run(2));
}

TEST_CASE("norms on CUDA match the CPU") {
  if (!cuda_available()) {
    MESSAGE("skipped: no CUDA device");
    return;
  }
  PoisonScope poison;
  const Device gpu = Device(DeviceType::cuda, 0);
  for (DType dt : {DType::f32, DType::f64, DType::bf16}) {
    INFO(fmt::format("{}", dt));
    const double tol = dt == DType::f64 ? 1e-10 : dt == DType::f32 ? 1e-4 : 3e-2;
    Tensor x = random_tensor({3, 8, 3, 5, 7}, 110, dt, 0.5), dy = random_tensor(x.shape(), 111, dt);
    Tensor w = random_tensor({8}, 112, dt), b = random_tensor({8}, 113, dt);
    for (bool silu : {false, true}) {
      ops::NormResult c = ops::group_norm(x, 4, w, b, 1e-5, silu);
      ops::NormResult g =
          ops::group_norm(ops::to(x, gpu), 4, ops::to(w, gpu), ops::to(b, gpu), 1e-5, silu);
      CHECK(max_error(values(g.out), values(c.out)) <= tol);
      ops::NormGrads cg = ops::group_norm_backward(dy, x, w, b, c, 4, silu, true, true, true);
      ops::NormGrads gg =
          ops::group_norm_backward(ops::to(dy, gpu), ops::to(x, gpu), ops::to(w, gpu),
                                   ops::to(b, gpu), g, 4, silu, true, true, true);
      CHECK(max_error(values(gg.x), values(cg.x)) <= tol);
      CHECK(max_error(values(gg.weight), values(cg.weight)) <= tol * 10);
      CHECK(max_error(values(gg.bias), values(cg.bias)) <= tol * 10);
    }
    Tensor r = random_tensor({3, 37, 65}, 120, dt), rdy = random_tensor(r.shape(), 121, dt);
    Tensor sc = random_tensor({3, 65}, 122, dt), sh = random_tensor({3, 65}, 123, dt);
    Tensor lw = random_tensor({65}, 124, dt), lb = random_tensor({65}, 125, dt);
    for (bool ada : {false, true}) {
      Tensor s = ada ? sc : Tensor(), t = ada ? sh : Tensor();
      auto on = [&](const Tensor& v) { return v.defined() ? ops::to(v, gpu) : v; };
      ops::NormResult c = ops::layer_norm(r, lw, lb, s, t, 1e-5);
      ops::NormResult g = ops::layer_norm(on(r), on(lw), on(lb), on(s), on(t), 1e-5);
      CHECK(max_error(values(g.out), values(c.out)) <= tol);
      ops::NormGrads cg =
          ops::layer_norm_backward(rdy, r, lw, lb, s, t, c, true, true, true, ada, ada);
      ops::NormGrads gg = ops::layer_norm_backward(on(rdy), on(r), on(lw), on(lb), on(s), on(t), g,
                                                   true, true, true, ada, ada);
      CHECK(max_error(values(gg.x), values(cg.x)) <= tol);
      CHECK(max_error(values(gg.weight), values(cg.weight)) <= tol * 10);
      CHECK(max_error(values(gg.bias), values(cg.bias)) <= tol * 10);
      if (ada) {
        CHECK(max_error(values(gg.scale), values(cg.scale)) <= tol * 10);
        CHECK(max_error(values(gg.shift), values(cg.shift)) <= tol * 10);
      }
    }
  }
}
