// UNet3D (trip/unet3d.h): parity with diffusers' UNet3DConditionModel on a random model
// (scripts/make_unet3d_fixture.py), float64 gradients, shapes of the presets, every parameter
// reached by backward, activation checkpointing, and input checks.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "nn/init.h"
#include "nn/io/safetensors.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "trip/unet3d.h"

using namespace trip;
using nn::NamedTensors;

#ifndef TRIP_TEST_DATA
#error "tests/meson.build passes TRIP_TEST_DATA (the tests/data folder)"
#endif

namespace {

// Equal to CONFIG in scripts/make_unet3d_fixture.py.
UNet3DConfig fixture_config() {
  UNet3DConfig c;
  c.in_channels = 4;
  c.out_channels = 3;
  c.block_out_channels = {8, 16};
  c.down_block_types = {"CrossAttnDownBlock3D", "DownBlock3D"};
  c.up_block_types = {"UpBlock3D", "CrossAttnUpBlock3D"};
  c.layers_per_block = 1;
  c.norm_num_groups = 4;
  c.attention_head_dim = 4;
  c.cross_attention_dim = 8;
  return c;
}

// Every block kind, downsampling and upsampling, at the smallest sizes (for float64 gradcheck).
UNet3DConfig micro_config() {
  UNet3DConfig c;
  c.in_channels = 2;
  c.out_channels = 2;
  c.block_out_channels = {4, 4};
  c.down_block_types = {"CrossAttnDownBlock3D", "DownBlock3D"};
  c.up_block_types = {"UpBlock3D", "CrossAttnUpBlock3D"};
  c.layers_per_block = 1;
  c.norm_num_groups = 2;
  c.attention_head_dim = 2;
  c.cross_attention_dim = 4;
  return c;
}

// max |a - b| / max |b|: the error relative to the reference's scale.
double rel_error(const Tensor& a, const Tensor& b) {
  std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  REQUIRE(x.size() == y.size());
  double err = 0, scale = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    err = std::max(err, std::abs(x[i] - y[i]));
    scale = std::max(scale, std::abs(y[i]));
  }
  return err / scale;
}

// Moves every parameter away from its init (the zero-initialised convs included).
void perturb(const nn::Module& m, double std) {
  NoGradGuard no_grad;
  for (const Tensor& p : m.parameters()) add_(p, randn(p.shape(), p.dtype()), std);
}

Tensor tensor_named(const NamedTensors& ts, const std::string& name) {
  for (const auto& [n, t] : ts)
    if (n == name) return t;
  FAIL("no tensor named " << name);
  return Tensor();
}

}  // namespace

TEST_CASE("UNet3D matches diffusers' UNet3DConditionModel (random weights, strict names)") {
  const std::string dir = TRIP_TEST_DATA;
  NamedTensors weights = nn::load_safetensors(dir + "/unet3d_tiny.safetensors");
  NamedTensors io = nn::load_safetensors(dir + "/unet3d_tiny_io.safetensors");
  UNet3D model(fixture_config());
  model.eval();
  nn::LoadIntoReport report = nn::load_into(weights, model.state_dict());  // strict: throws
  CHECK(report.ok());
  CHECK(report.loaded == model.state_dict().size());
  CHECK(weights.size() == model.state_dict().size());

  Tensor sample = tensor_named(io, "sample"), timestep = tensor_named(io, "timestep");
  Tensor context = tensor_named(io, "context"), expected = tensor_named(io, "expected");
  REQUIRE(sample.shape() == Dims{2, 4, 3, 8, 8});
  NoGradGuard no_grad;
  Tensor out = model.forward(sample, timestep, context);
  REQUIRE(out.shape() == expected.shape());
  const double err32 = rel_error(out, expected);
  MESSAGE("float32 max relative error vs diffusers: " << err32);
  CHECK(err32 <= 1e-4);

  // Non-square frames (8 x 4), one clip of 2 frames, a 0-d float timestep.
  Tensor sample2 = tensor_named(io, "sample2"), timestep2 = tensor_named(io, "timestep2");
  REQUIRE(sample2.shape() == Dims{1, 4, 2, 8, 4});
  CHECK(timestep2.dim() == 0);
  Tensor out2 = model.forward(sample2, timestep2, tensor_named(io, "context2"));
  const double err2 = rel_error(out2, tensor_named(io, "expected2"));
  MESSAGE("float32 max relative error vs diffusers (8 x 4 frames): " << err2);
  CHECK(err2 <= 1e-4);

  // In float64 only the float32 rounding of the stored reference remains.
  model.to(DType::f64);
  Tensor out64 = model.forward(to(sample, DType::f64), timestep, to(context, DType::f64));
  CHECK(out64.dtype() == DType::f64);
  const double err64 = rel_error(out64, expected);
  MESSAGE("float64 max relative error vs diffusers: " << err64);
  CHECK(err64 <= 1e-6);

  // A changed weight must change the output (the comparison can fail).
  add_(tensor_named(model.state_dict(), "down_blocks.0.temp_convs.0.conv4.3.bias"),
       full({8}, 0.01, DType::f64));
  CHECK(rel_error(model.forward(to(sample, DType::f64), timestep, to(context, DType::f64)),
                  expected) > 1e-4);
}

TEST_CASE("UNet3D float64 gradients w.r.t. input, context and parameters") {
  manual_seed(7);
  UNet3D model(micro_config());
  model.eval();
  model.to(DType::f64);
  perturb(model, 0.1);
  Tensor sample = randn({1, 2, 2, 4, 4}, DType::f64);
  Tensor context = randn({1, 3, 4}, DType::f64);
  Tensor t = from_vector<int64_t>({321}, {1}, DType::i64);
  sample.set_requires_grad(true);
  context.set_requires_grad(true);
  GradcheckResult r =
      gradcheck([&](const std::vector<Tensor>& in) { return model.forward(in[0], t, in[1]); },
                {sample, context});
  INFO(r.message);
  CHECK(r.ok);

  // Parameters: analytic gradients of L = sum(out * W) against central differences, a few
  // elements of parameters from every part of the model.
  Tensor s = detach(sample), c = detach(context);
  Tensor weight = randn({1, 2, 2, 4, 4}, DType::f64);
  for (Tensor p : model.parameters()) p.set_grad(Tensor());  // gradcheck's backward
  {
    Tensor loss = sum(model.forward(s, t, c) * weight);
    loss.backward();
  }
  auto objective = [&] {
    NoGradGuard no_grad;
    return sum(model.forward(s, t, c) * weight).item<double>();
  };
  const NamedTensors params = model.named_parameters();
  for (const char* name :
       {"time_embedding.linear_1.bias", "transformer_in.transformer_blocks.0.attn1.to_q.weight",
        "down_blocks.0.temp_convs.0.conv4.3.weight", "down_blocks.0.temp_convs.0.conv1.0.weight",
        "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight",
        "down_blocks.0.temp_attentions.0.proj_out.bias", "down_blocks.0.downsamplers.0.conv.bias",
        "mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj.weight",
        "up_blocks.0.resnets.1.conv_shortcut.weight", "up_blocks.0.upsamplers.0.conv.bias",
        "up_blocks.1.resnets.0.time_emb_proj.bias", "conv_out.weight"}) {
    Tensor p = tensor_named(params, name);
    REQUIRE(p.grad().defined());
    std::vector<double> analytic = p.grad().to_vector<double>();
    double* x = p.data<double>();
    for (int64_t j = 0; j < p.numel(); j += std::max<int64_t>(1, p.numel() / 3)) {
      const double original = x[j], eps = 1e-6;
      x[j] = original + eps;
      const double plus = objective();
      x[j] = original - eps;
      const double minus = objective();
      x[j] = original;
      const double numeric = (plus - minus) / (2 * eps);
      INFO(std::string(name) << "[" << j << "]: numeric " << numeric << " vs analytic "
                             << analytic[j]);
      CHECK(std::abs(numeric - analytic[size_t(j)]) <= 1e-5 + 1e-3 * std::abs(numeric));
    }
  }
}

TEST_CASE("UNet3D tiny preset: shapes, names and a gradient for every parameter") {
  manual_seed(1);
  UNet3DConfig cfg = UNet3DConfig::tiny();
  UNet3D model(cfg);
  const NamedTensors params = model.named_parameters();
  for (const char* name :
       {"conv_in.weight", "time_embedding.linear_2.bias", "transformer_in.proj_in.weight",
        "transformer_in.transformer_blocks.0.attn2.to_v.weight",
        "down_blocks.0.resnets.0.norm1.weight", "down_blocks.0.temp_convs.0.conv1.2.weight",
        "down_blocks.0.downsamplers.0.conv.weight",
        "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_out.0.bias",
        "down_blocks.2.temp_attentions.0.transformer_blocks.0.ff.net.2.weight",
        "mid_block.resnets.1.conv2.weight", "mid_block.temp_convs.1.conv4.3.bias",
        "up_blocks.0.resnets.1.conv_shortcut.weight", "up_blocks.1.upsamplers.0.conv.weight",
        "up_blocks.2.temp_convs.1.conv3.0.bias", "conv_norm_out.weight", "conv_out.bias"})
    CHECK_NOTHROW(tensor_named(params, name));
  // diffusers' UNet3DConditionModel with the tiny preset's config has 2,851,907 parameters
  // (sum of numel() over its parameters, diffusers 0.31).
  CHECK(model.num_parameters() == 2851907);
  // The tiny preset's heads: transformer_in 8 x 8 = 64 wide on 32 channels; 64-channel blocks
  // 8 heads of 8.
  CHECK(model.transformer_in->inner_dim == 64);
  auto down1 = model.down_blocks->at<DownBlock3D>(1);
  CHECK(down1->attentions->at<Transformer2DModel>(0)->inner_dim == 64);
  CHECK(down1->attentions->at<Transformer2DModel>(0)
            ->transformer_blocks->at<BasicTransformerBlock>(0)
            ->attn1->heads == 8);
  CHECK(model.down_blocks->at<DownBlock3D>(0)->attentions == nullptr);
  CHECK(model.down_blocks->at<DownBlock3D>(2)->downsamplers == nullptr);
  CHECK(model.up_blocks->at<UpBlock3D>(2)->upsamplers == nullptr);

  Tensor t = from_vector<int64_t>({5, 999}, {2}, DType::i64);
  {
    NoGradGuard no_grad;  // the training shape (a clip of 8 frames + the image frame)
    Tensor sample = randn({2, 3, 9, 32, 32});
    CHECK(model.forward(sample, t, randn({2, 7, 64})).shape() == sample.shape());
  }
  // Gradients on a smaller input (the test's time): every part of the model is still used.
  Tensor out = model.forward(randn({2, 3, 3, 16, 16}), t, randn({2, 7, 64}));
  CHECK(out.shape() == Dims{2, 3, 3, 16, 16});
  sum(out * randn(out.shape())).backward();
  for (const auto& [name, p] : params) {
    INFO(name);
    REQUIRE(p.grad().defined());
    const double norm = trip::sum(trip::abs(detach(p.grad()))).item<double>();
    CHECK(std::isfinite(norm));
    // A temporal block's layers sit behind its last conv (conv4.3), which starts at zero (the
    // block is the identity), so their gradients are exactly zero at init; everything else
    // gets a signal.
    const bool behind_zero_conv =
        name.find("temp_convs") != std::string::npos && name.find(".conv4.3.") == std::string::npos;
    if (behind_zero_conv)
      CHECK(norm == 0.0);
    else
      CHECK(norm > 0.0);
  }

  // TRIP_C: 2C channels in, C out; a float timestep broadcast from one value.
  cfg.in_channels = 6;
  UNet3D wide(cfg);
  NoGradGuard no_grad;
  Tensor out2 = wide.forward(randn({1, 6, 2, 8, 8}), full({1}, 250.5), randn({1, 3, 64}));
  CHECK(out2.shape() == Dims{1, 3, 2, 8, 8});
}

TEST_CASE("UNet3D with activation checkpointing gives the same output and gradients") {
  UNet3DConfig cfg = fixture_config();
  manual_seed(3);
  UNet3D plain(cfg);
  perturb(plain, 0.05);
  cfg.gradient_checkpointing = true;
  UNet3D ckpt(cfg);
  {
    NoGradGuard no_grad;
    nn::load_into(plain.state_dict(), ckpt.state_dict());
  }
  Tensor sample = randn({2, 4, 3, 8, 8}), context = randn({2, 5, 8});
  Tensor t = from_vector<int64_t>({1, 500}, {2}, DType::i64);
  Tensor weight = randn({2, 3, 3, 8, 8});
  // Training mode: the temporal blocks' dropout is on, and the recomputation must replay it.
  auto run = [&](const UNet3D& m, Tensor& ctx_grad) {
    manual_seed(11);
    Tensor c = detach(context);
    c.set_requires_grad(true);
    Tensor out = m.forward(sample, t, c);
    sum(out * weight).backward();
    ctx_grad = c.grad();
    return out;
  };
  Tensor g_plain, g_ckpt;
  Tensor out_plain = run(plain, g_plain);
  Tensor out_ckpt = run(ckpt, g_ckpt);
  CHECK(rel_error(out_ckpt, out_plain) == 0.0);
  CHECK(rel_error(g_ckpt, g_plain) <= 1e-5);
  const NamedTensors a = plain.named_parameters(), b = ckpt.named_parameters();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first);
    REQUIRE(b[i].second.grad().defined());
    CHECK(rel_error(b[i].second.grad(), a[i].second.grad()) <= 1e-5);
  }
}

TEST_CASE("UNet3D rejects bad inputs and configs with errors naming the expected shape") {
  manual_seed(5);
  UNet3D model(fixture_config());
  NoGradGuard no_grad;
  Tensor t = from_vector<int64_t>({1, 2}, {2}, DType::i64);
  Tensor ctx = randn({2, 5, 8});
  CHECK_THROWS_WITH_AS(model.forward(randn({2, 3, 3, 8, 8}), t, ctx),
                       doctest::Contains("expected sample [B, 4, F, H, W]"), Error);
  CHECK_THROWS_WITH_AS(model.forward(randn({2, 4, 8, 8}), t, ctx),
                       doctest::Contains("expected sample [B, 4, F, H, W]"), Error);
  CHECK_THROWS_WITH_AS(model.forward(randn({2, 4, 3, 6, 7}), t, ctx),
                       doctest::Contains("multiples of 2"), Error);
  CHECK_THROWS_WITH_AS(model.forward(randn({2, 4, 3, 8, 8}), randn({3}), ctx),
                       doctest::Contains("expected timestep [2]"), Error);
  CHECK_THROWS_WITH_AS(model.forward(randn({2, 4, 3, 8, 8}), t, randn({2, 5, 7})),
                       doctest::Contains("expected context [2, L, 8]"), Error);
  CHECK_THROWS_WITH_AS(model.forward(randn({2, 4, 3, 8, 8}), t, randn({1, 5, 8})),
                       doctest::Contains("expected context [2, L, 8]"), Error);

  UNet3DConfig bad = fixture_config();
  bad.up_block_types.pop_back();
  CHECK_THROWS_WITH_AS(UNet3D{bad}, doctest::Contains("up_block_types"), Error);
  bad = fixture_config();
  bad.down_block_types[0] = "CrossAttnDownBlock2D";
  CHECK_THROWS_WITH_AS(UNet3D{bad}, doctest::Contains("CrossAttnDownBlock2D"), Error);
  bad = fixture_config();
  bad.norm_num_groups = 3;
  CHECK_THROWS_WITH_AS(UNet3D{bad}, doctest::Contains("norm_num_groups 3"), Error);
  bad = fixture_config();
  bad.attention_head_dim = 3;
  CHECK_THROWS_WITH_AS(UNet3D{bad}, doctest::Contains("attention_head_dim 3"), Error);
}

TEST_CASE("Temporal transformer: frame positions make it see the order of the frames") {
  // Without the embedding (diffusers), attention over frames is permutation-equivariant:
  // reversing the input frames reverses the output. With it, frame order changes the result.
  const int64_t F = 5, C = 16;
  const Tensor x = ops::randn({2 * F, C, 3, 3});
  const Tensor index = from_vector<int64_t>({4, 3, 2, 1, 0, 9, 8, 7, 6, 5}, {2 * F}, DType::i64);
  auto reversed = [&](const Tensor& t) { return ops::index_select(t, 0, index); };
  for (bool positions : {false, true}) {
    manual_seed(11);
    TransformerTemporalModel temporal(2, 8, C, 4, 0.0, positions);
    const Tensor out = temporal.forward(x, F);
    const Tensor out_of_reversed = temporal.forward(reversed(x), F);
    const double gap = amax(trip::abs(reversed(out) - out_of_reversed)).item<double>();
    INFO("frame positions " << positions << ", gap " << gap);
    if (positions) {
      CHECK(gap > 1e-3);
    } else {
      CHECK(gap < 1e-5);
    }
  }
}
