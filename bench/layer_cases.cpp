// The cases of `trip-bench layers`: the layer kernels at the shapes of a video UNet, forward and
// backward timed separately. Names are stable (bench/RESULTS.md, scripts): e.g.
// conv2d3x3_36x32x32x32_fwd is a 3x3 convolution (padding 1) over 36 frames (4 clips x 9 frames)
// of 32 channels at 32x32, to 32 channels.
#include <fmt/core.h>

#include <cmath>
#include <memory>

#include "bench/cases.h"
#include "nn/optim/adamw.h"
#include "tensor/ops.h"

namespace trip::bench {

namespace {

void add_conv(std::vector<Case>& cases, const std::string& name, Device dev, Dims input,
              Dims weight, ConvParams p) {
  auto opt = TensorOptions(DType::f32, dev);
  Tensor x = ops::randn(input, opt), w = ops::randn(weight, opt), b = ops::randn({weight[0]}, opt);
  Tensor y = ops::conv(x, w, b, p);
  Tensor dy = ops::randn(y.shape(), opt);
  // 2 FLOPs per multiply-add of every output element over its receptive field.
  double flops = 2.0 * double(y.numel()) * double(numel_of(weight) / weight[0]);
  cases.push_back({name + "_fwd", flops, 0, [=] { ops::conv(x, w, b, p); }});
  // Backward: the input gradient and the weight gradient, each as much work as the forward.
  cases.push_back(
      {name + "_bwd", 2 * flops, 0, [=] { ops::conv_backward(dy, x, w, true, true, true, p); }});
}

void add_attention(std::vector<Case>& cases, const std::string& name, Device dev, int64_t bh,
                   int64_t len, int64_t head_dim) {
  auto opt = TensorOptions(DType::f32, dev);
  Dims shape{1, bh, len, head_dim};
  Tensor q = ops::randn(shape, opt), k = ops::randn(shape, opt), v = ops::randn(shape, opt);
  double scale = 1.0 / std::sqrt(double(head_dim));
  ops::AttentionResult saved = ops::attention(q, k, v, scale);
  Tensor dout = ops::randn(shape, opt);
  // Forward: Q K^T and P V, 2 L^2 D FLOPs each; backward recomputes S and adds dV, dP, dQ, dK.
  double flops = 4.0 * double(bh) * double(len) * double(len) * double(head_dim);
  cases.push_back({name + "_fwd", flops, 0, [=] { ops::attention(q, k, v, scale); }});
  cases.push_back({name + "_bwd", 2.5 * flops, 0,
                   [=] { ops::attention_backward(dout, q, k, v, saved, scale); }});
}

}  // namespace

std::vector<Case> layer_cases(Device dev) {
  std::vector<Case> cases;
  ConvParams same2d;
  same2d.padding[0] = same2d.padding[1] = 1;
  add_conv(cases, "conv2d3x3_36x32x32x32", dev, {36, 32, 32, 32}, {32, 32, 3, 3}, same2d);
  add_conv(cases, "conv2d3x3_36x64x16x16", dev, {36, 64, 16, 16}, {64, 64, 3, 3}, same2d);
  add_conv(cases, "conv2d3x3_36x64x8x8", dev, {36, 64, 8, 8}, {64, 64, 3, 3}, same2d);
  ConvParams temporal;
  temporal.spatial = 3;
  temporal.padding[0] = 1;
  add_conv(cases, "conv3d311_4x64x9x16x16", dev, {4, 64, 9, 16, 16}, {64, 64, 3, 1, 1}, temporal);
  add_conv(cases, "conv3d311_4x32x9x32x32", dev, {4, 32, 9, 32, 32}, {32, 32, 3, 1, 1}, temporal);

  for (int64_t len : {16, 64, 256, 1024}) {
    int64_t bh = 16 * 1024 / len;  // the same number of query rows at every length
    add_attention(cases, fmt::format("attention_L{}_bh{}_d64", len, bh), dev, bh, len, 64);
  }

  auto opt = TensorOptions(DType::f32, dev);
  Tensor x = ops::randn({36, 64, 16, 16}, opt);
  Tensor gamma = ops::randn({64}, opt), beta = ops::randn({64}, opt);
  ops::NormResult saved = ops::group_norm(x, 32, gamma, beta, 1e-5, /*silu=*/true);
  Tensor dy = ops::randn(x.shape(), opt);
  double bytes = double(x.nbytes());
  cases.push_back({"groupnorm_silu_36x64x16x16_fwd", 0, 2 * bytes,
                   [=] { ops::group_norm(x, 32, gamma, beta, 1e-5, true); }});
  cases.push_back(
      {"groupnorm_silu_36x64x16x16_bwd", 0, 3 * bytes,
       [=] { ops::group_norm_backward(dy, x, gamma, beta, saved, 32, true, true, true, true); }});
  // One AdamW step over 10M f32 parameters in 100 tensors (reads p, g, m, v; writes p, m, v).
  nn::ParamGroup group;
  group.name = "all";
  for (int i = 0; i < 100; ++i) {
    Tensor p = ops::randn({100000}, opt);
    p.set_grad(ops::randn({100000}, opt));
    group.params.push_back({fmt::format("p{}", i), p});
  }
  auto adamw = std::make_shared<nn::AdamW>(std::vector<nn::ParamGroup>{group});
  adamw->step();  // allocates the moments, so the timed steps measure the update alone
  cases.push_back({"adamw_10M", 0, 7.0 * 10e6 * 4, [adamw] { adamw->step(); }});
  return cases;
}

}  // namespace trip::bench
