// The op table: the fused norm layers through the differentiable API: group_norm with and without
// the fused SiLU, layer_norm and ada_layer_norm (AdaLN), each with and without the affine
// weight/bias, on odd, 5-d video, one-element-per-group and empty shapes, against naive two-pass
// references in double (biased variance, eps inside the sqrt, as PyTorch). tests/norm_test.cpp
// keeps the dedicated checks the table cannot express (the saved mean/rstd, a large-mean input,
// thread counts, the backward entry points' errors).
#include <cmath>

#include "tests/op_table_ref.h"

namespace trip::optest {

namespace {

// An optional trailing input: inputs past the required ones are the affine weight and bias.
Tensor optional(const std::vector<Tensor>& x, size_t i) { return i < x.size() ? x[i] : Tensor(); }
const Host* optional(const std::vector<Host>& x, size_t i) {
  return i < x.size() ? &x[i] : nullptr;
}

// Normalises `len` values of x.v from `base` with their own mean and biased variance.
std::vector<double> normalised(const Host& x, int64_t base, int64_t len, double eps) {
  double mean = 0, var = 0;
  for (int64_t i = 0; i < len; ++i) mean += x.v[size_t(base + i)];
  mean /= double(len);
  for (int64_t i = 0; i < len; ++i) var += std::pow(x.v[size_t(base + i)] - mean, 2);
  var /= double(len);
  std::vector<double> out(static_cast<size_t>(len));
  for (int64_t i = 0; i < len; ++i)
    out[size_t(i)] = (x.v[size_t(base + i)] - mean) / std::sqrt(var + eps);
  return out;
}

// F.group_norm over x [N, C, *] (then SiLU when asked); w/b [C] or null.
Host group_norm_ref(const Host& x, int64_t groups, const Host* w, const Host* b, double eps,
                    bool silu) {
  Host y{x.shape, std::vector<double>(x.v.size())};
  const int64_t N = x.shape[0], C = x.shape[1];
  const int64_t S = N * C == 0 ? 0 : x.numel() / (N * C), per_group = C / groups * S;
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t base = (n * C) * S + g * per_group;
      std::vector<double> v = normalised(x, base, per_group, eps);
      for (int64_t i = 0; i < per_group; ++i) {
        const int64_t c = (base + i) / S % C;
        double z = v[size_t(i)];
        if (w) z *= w->v[size_t(c)];
        if (b) z += b->v[size_t(c)];
        y.v[size_t(base + i)] = silu ? z / (1 + std::exp(-z)) : z;
      }
    }
  }
  return y;
}

// F.layer_norm over the last dim; with scale/shift [B, D] (AdaLN) then * (1 + scale) + shift,
// indexed by the leading dim.
Host layer_norm_ref(const Host& x, const Host* w, const Host* b, const Host* scale,
                    const Host* shift, double eps) {
  Host y{x.shape, std::vector<double>(x.v.size())};
  const int64_t D = x.shape[x.shape.size() - 1], rows = D == 0 ? 0 : x.numel() / D;
  const int64_t per_sample = rows == 0 ? 1 : rows / x.shape[0];
  for (int64_t row = 0; row < rows; ++row) {
    std::vector<double> v = normalised(x, row * D, D, eps);
    for (int64_t d = 0; d < D; ++d) {
      double z = v[size_t(d)];
      if (w) z *= w->v[size_t(d)];
      if (b) z += b->v[size_t(d)];
      if (scale) {
        const size_t at = size_t(row / per_sample * D + d);
        z = z * (1 + scale->v[at]) + shift->v[at];
      }
      y.v[size_t(row * D + d)] = z;
    }
  }
  return y;
}

// Cases of x [N, C, *] with `groups` (args.dim) and eps (args.x); "affine" ones add weight and
// bias [C]. The big case spans several blocks of the kernels; the empty ones write nothing.
std::vector<Case> group_norm_cases() {
  auto affine = [](Dims x, int64_t C) { return std::vector<Input>{in(x), in({C}), in({C})}; };
  return {
      {"2x6x5 groups 3", {in({2, 6, 5})}, {.dim = 3, .x = 1e-5}},
      {"2x6x5 groups 3 affine", affine({2, 6, 5}, 6), {.dim = 3, .x = 1e-3}},
      {"2x4 groups 4 (one element each) affine", affine({2, 4}, 4), {.dim = 4, .x = 1e-5}},
      {"1x12x7x3 groups 1 affine", affine({1, 12, 7, 3}, 12), {.dim = 1, .x = 1e-5}},
      {"2x4x2x3 groups 4 (instance norm)", {in({2, 4, 2, 3})}, {.dim = 4, .x = 1e-5}},
      {"video 2x8x3x2x2 groups 2 affine", affine({2, 8, 3, 2, 2}, 8), {.dim = 2, .x = 1e-6}},
      {"1x5x33 groups 5 affine", affine({1, 5, 33}, 5), {.dim = 5, .x = 1e-5}},
      {"video 2x64x2x4x4 groups 32 affine",
       affine({2, 64, 2, 4, 4}, 64),
       {.dim = 32, .x = 1e-5},
       false},
      {"0x4x3 groups 2", {in({0, 4, 3})}, {.dim = 2, .x = 1e-5}, false},
      {"2x4x0 groups 2 affine", affine({2, 4, 0}, 4), {.dim = 2, .x = 1e-5}, false},
  };
}

OpInfo group_norm_op(bool silu) {
  OpInfo op;
  op.name = silu ? "group_norm+silu" : "group_norm";
  op.fn = [silu](const std::vector<Tensor>& x, const Args& a) {
    return std::vector<Tensor>{
        trip::group_norm(x[0], a.dim, optional(x, 1), optional(x, 2), a.x, silu)};
  };
  op.ref = [silu](const std::vector<Host>& x, const Args& a) {
    return std::vector<Host>{
        group_norm_ref(x[0], a.dim, optional(x, 1), optional(x, 2), a.x, silu)};
  };
  op.cases = group_norm_cases();
  // Means and variances over up to 192 elements, then a division by a small sqrt(var + eps).
  op.tol_scale = 2;
  op.integer_error = "group_norm: expected a floating input";
  op.errors = {
      {"groups do not divide C",
       [silu] {
         trip::group_norm(ops::zeros({2, 6, 4}), 4, {}, {}, 1e-5, silu);
       },
       "group_norm: 6 channels are not divisible by groups = 4 (input shape [2, 6, 4])"},
      {"groups 0",
       [silu] {
         trip::group_norm(ops::zeros({2, 6}), 0, {}, {}, 1e-5, silu);
       },
       "not divisible by groups = 0"},
      {"1-d input", [silu] { trip::group_norm(ops::zeros({6}), 1, {}, {}, 1e-5, silu); },
       "expected an input [N, C, *] of at least 2 dims, got shape [6]"},
      {"weight shape",
       [silu] {
         trip::group_norm(ops::zeros({2, 6, 4}), 3, ops::ones({4}), {}, 1e-5, silu);
       },
       "group_norm: weight must have shape [6], got [4]"},
      {"bias dtype",
       [silu] {
         trip::group_norm(ops::zeros({2, 6, 4}), 3, {}, ops::zeros({6}, DType::f64), 1e-5, silu);
       },
       "bias has dtype f64 but the input has dtype f32"},
      {"negative eps",
       [silu] {
         trip::group_norm(ops::zeros({2, 6}), 3, {}, {}, -1.0, silu);
       },
       "eps must be >= 0, got -1"},
  };
  return op;
}

OpInfo layer_norm_op() {
  OpInfo op;
  op.name = "layer_norm";
  op.fn = [](const std::vector<Tensor>& x, const Args& a) {
    return std::vector<Tensor>{trip::layer_norm(x[0], optional(x, 1), optional(x, 2), a.x)};
  };
  op.ref = [](const std::vector<Host>& x, const Args& a) {
    return std::vector<Host>{
        layer_norm_ref(x[0], optional(x, 1), optional(x, 2), nullptr, nullptr, a.x)};
  };
  auto affine = [](Dims x, int64_t D) { return std::vector<Input>{in(x), in({D}), in({D})}; };
  op.cases = {
      {"7", {in({7})}, {.x = 1e-5}},
      {"3x5 affine", affine({3, 5}, 5), {.x = 1e-5}},
      {"2x3x33 affine", affine({2, 3, 33}, 33), {.x = 1e-3}},
      {"2x2x3x16", {in({2, 2, 3, 16})}, {.x = 1e-5}},
      {"4x1 (one element) affine", affine({4, 1}, 1), {.x = 1e-5}},
      {"64x320 affine", affine({64, 320}, 320), {.x = 1e-5}, false},
      {"0x5 affine", affine({0, 5}, 5), {.x = 1e-5}, false},
      {"3x0", {in({3, 0})}, {.x = 1e-5}, false},
  };
  op.tol_scale = 2;
  op.integer_error = "layer_norm: expected a floating input";
  op.errors = {
      {"weight shape",
       [] {
         trip::layer_norm(ops::zeros({3, 5}), ops::ones({3}));
       },
       "layer_norm: weight must have shape [5], got [3]"},
      {"0-d input", [] { trip::layer_norm(ops::zeros({})); }, "of at least 1 dims, got shape []"},
      {"negative eps", [] { trip::layer_norm(ops::zeros({3}), {}, {}, -1e-5); },
       "eps must be >= 0"},
  };
  return op;
}

OpInfo ada_layer_norm_op() {
  OpInfo op;
  op.name = "ada_layer_norm";
  // Inputs: x [B, ..., D], scale [B, D], shift [B, D], then optionally weight and bias [D].
  op.fn = [](const std::vector<Tensor>& x, const Args& a) {
    return std::vector<Tensor>{
        trip::ada_layer_norm(x[0], x[1], x[2], optional(x, 3), optional(x, 4), a.x)};
  };
  op.ref = [](const std::vector<Host>& x, const Args& a) {
    return std::vector<Host>{
        layer_norm_ref(x[0], optional(x, 3), optional(x, 4), &x[1], &x[2], a.x)};
  };
  auto ada = [](Dims x, bool affine) {
    const int64_t B = x[0], D = x[x.size() - 1];
    std::vector<Input> inputs = {in(x), in({B, D}), in({B, D})};
    if (affine) inputs.insert(inputs.end(), {in({D}), in({D})});
    return inputs;
  };
  op.cases = {
      {"2x3x5", ada({2, 3, 5}, false), {.x = 1e-5}},
      {"3x4 affine", ada({3, 4}, true), {.x = 1e-5}},
      {"2x2x3x16 affine", ada({2, 2, 3, 16}, true), {.x = 1e-3}},
      {"2x7x33", ada({2, 7, 33}, false), {.x = 1e-5}},
      {"4x64x96 affine", ada({4, 64, 96}, true), {.x = 1e-5}, false},
      {"0x3x4 affine", ada({0, 3, 4}, true), {.x = 1e-5}, false},
  };
  op.tol_scale = 2;
  op.integer_error = "ada_layer_norm: expected a floating input";
  op.errors = {
      {"scale shape",
       [] {
         trip::ada_layer_norm(ops::zeros({2, 3, 5}), ops::zeros({3, 5}), ops::zeros({2, 5}));
       },
       "ada_layer_norm: scale must have shape [2, 5], got [3, 5]"},
      {"shift missing",
       [] {
         trip::ada_layer_norm(ops::zeros({2, 3, 5}), ops::zeros({2, 5}), Tensor());
       },
       "scale and shift must both be given"},
      {"1-d input",
       [] {
         trip::ada_layer_norm(ops::zeros({5}), ops::zeros({1, 5}), ops::zeros({1, 5}));
       },
       "of at least 2 dims, got shape [5]"},
      {"shift dtype",
       [] {
         trip::ada_layer_norm(ops::zeros({2, 5}), ops::zeros({2, 5}),
                              ops::zeros({2, 5}, DType::bf16));
       },
       "shift has dtype bf16 but the input has dtype f32"},
  };
  return op;
}

}  // namespace

std::vector<OpInfo> norm_ops() {
  std::vector<OpInfo> ops;
  ops.push_back(group_norm_op(false));
  ops.push_back(group_norm_op(true));
  ops.push_back(layer_norm_op());
  ops.push_back(ada_layer_norm_op());
  return ops;
}

}  // namespace trip::optest
