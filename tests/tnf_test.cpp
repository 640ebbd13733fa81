// TemporalNoiseFusion (TRIP.md section 4) and nn::AdaLayerNorm: shapes, names, gradients, errors,
// and that TNF can learn to hand the image noise prior through (what it must do for frame 1).
#include <doctest/doctest.h>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "nn/optim/adamw.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "trip/temporal_noise_fusion.h"

using namespace trip;

TEST_CASE("AdaLayerNorm: matches layer_norm(x) * (1 + scale) + shift from its own linear") {
  manual_seed(5);
  nn::AdaLayerNorm norm(6, 4);
  const Tensor x = ops::randn({2, 3, 6});
  const Tensor emb = ops::randn({2, 4});
  const Tensor got = norm.forward(x, emb);
  const Tensor ss = norm.linear->forward(silu(emb));  // [2, 12]: scale then shift
  const Tensor scale = unsqueeze(slice(ss, 1, 0, 6), 1), shift = unsqueeze(slice(ss, 1, 6, 12), 1);
  const Tensor expected = layer_norm(x) * (1.0 + scale) + shift;
  CHECK(amax(trip::abs(got - expected)).item<double>() < 1e-5);
  CHECK_THROWS_AS(norm.forward(ops::randn({2, 3, 5}), emb), Error);
  CHECK_THROWS_AS(norm.forward(x, ops::randn({3, 4})), Error);
}

TEST_CASE("TNF: shapes, parameter names, every parameter gets a gradient") {
  manual_seed(1);
  TemporalNoiseFusion tnf({.channels = 3, .width = 16, .heads = 4});
  const auto names = tnf.named_parameters();
  auto has = [&](const std::string& n) {
    for (const auto& [name, t] : names) {
      if (name == n) return true;
    }
    return false;
  };
  CHECK(has("proj_in.weight"));
  CHECK(has("source_embedding"));
  CHECK(has("norm1.linear.weight"));
  CHECK(has("attn2.to_k.weight"));
  CHECK(has("time_embedding.linear_2.bias"));
  CHECK(has("frame_embedding.linear_1.weight"));
  CHECK(has("proj_out.bias"));
  CHECK(has("gate.weight"));
  // proj_out starts at zero (nothing flows back through it yet); give it weights so every
  // parameter's gradient is checked.
  ops::copy_(tnf.proj_out->weight, ops::randn(tnf.proj_out->weight.shape()));

  const Tensor residual = ops::randn({2, 3, 5, 3, 4});
  const Tensor prior = ops::randn({2, 3, 5, 3, 4});
  const Tensor t = from_vector<int64_t>({10, 900}, {2}, DType::i64);
  const Tensor out = tnf.forward(residual, prior, t);
  CHECK(out.shape() == Dims({2, 3, 5, 3, 4}));
  sum(square(out)).backward();
  for (const auto& [name, p] : names) {
    INFO(name);
    REQUIRE(p.grad().defined());
    CHECK(amax(trip::abs(p.grad())).item<double>() > 0);
  }
  CHECK_THROWS_AS(tnf.forward(residual, ops::randn({2, 3, 4, 3, 4}), t), Error);
  CHECK_THROWS_AS(tnf.forward(ops::randn({2, 2, 5, 3, 4}), ops::randn({2, 2, 5, 3, 4}), t), Error);
  CHECK_THROWS_AS(tnf.forward(residual, prior, from_vector<int64_t>({1}, {1}, DType::i64)), Error);
}

TEST_CASE(
    "TNF: untrained, it mixes the two noises per position; a saturated gate passes one exactly") {
  manual_seed(6);
  TemporalNoiseFusion tnf({.channels = 3, .width = 16, .heads = 4});
  const Tensor residual = ops::randn({2, 3, 4, 3, 5});
  const Tensor prior = ops::randn({2, 3, 4, 3, 5});
  const Tensor t = from_vector<int64_t>({3, 700}, {2}, DType::i64);
  // Every output lies between the two noises (proj_out, the correction, starts at zero).
  const Tensor out = tnf.forward(residual, prior, t);
  // (out - residual) (out - prior) <= 0 holds exactly where out is between them.
  CHECK(amax((out - residual) * (out - prior)).item<double>() < 1e-6);
  // A gate saturated towards the prior hands it through unchanged: no learned identity map.
  ops::fill_(tnf.gate->weight, 0.0);
  ops::fill_(tnf.gate->bias, 40.0);
  CHECK(amax(trip::abs(tnf.forward(residual, prior, t) - prior)).item<double>() < 1e-6);
  ops::fill_(tnf.gate->bias, -40.0);
  CHECK(amax(trip::abs(tnf.forward(residual, prior, t) - residual)).item<double>() < 1e-6);
}

TEST_CASE("TNF: frames are independent sequences and each frame's output depends on its index") {
  manual_seed(2);
  TemporalNoiseFusion tnf({.channels = 2, .width = 8, .heads = 2});
  // Three identical frames (residual and prior differ): outputs differ only through the
  // frame-index embedding.
  const Tensor clip = ops::contiguous(ops::expand(ops::randn({1, 2, 1, 3, 3}), {1, 2, 3, 3, 3}));
  const Tensor other = ops::contiguous(ops::expand(ops::randn({1, 2, 1, 3, 3}), {1, 2, 3, 3, 3}));
  const Tensor t = from_vector<int64_t>({100}, {1}, DType::i64);
  const Tensor out = tnf.forward(clip, other, t);
  const double diff01 = amax(trip::abs(select(out, 2, 0) - select(out, 2, 1))).item<double>();
  CHECK(diff01 > 1e-6);
  // Changing frame 2 leaves frames 0 and 1 unchanged (attention stays within a frame).
  Tensor changed = ops::clone(clip);
  ops::copy_(ops::select(changed, 2, 2), ops::randn({1, 2, 3, 3}));
  const Tensor out2 = tnf.forward(changed, other, t);
  CHECK(amax(trip::abs(narrow(out2, 2, 0, 2) - narrow(out, 2, 0, 2))).item<double>() == 0.0);
}

TEST_CASE("TNF: float64 gradcheck through both noises and the parameters") {
  manual_seed(3);
  TemporalNoiseFusion tnf({.channels = 2, .width = 4, .heads = 2});
  tnf.to(DType::f64);
  ops::Generator gen{9, 0};
  const Tensor residual = ops::randn({1, 2, 2, 2, 2}, DType::f64, &gen).set_requires_grad();
  const Tensor prior = ops::randn({1, 2, 2, 2, 2}, DType::f64, &gen).set_requires_grad();
  const Tensor t = from_vector<int64_t>({500}, {1}, DType::i64);
  // Parameters checked by putting gradcheck's copies in their place: AdaLN's linear (reaches the
  // output through scale/shift) and the source embedding.
  const GradcheckResult result = gradcheck(
      [&](const std::vector<Tensor>& in) {
        tnf.norm1->linear->weight = in[2];
        tnf.source_embedding = in[3];
        return tnf.forward(in[0], in[1], t);
      },
      {residual, prior, ops::clone(tnf.norm1->linear->weight).set_requires_grad(),
       ops::clone(tnf.source_embedding).set_requires_grad()});
  CHECK_MESSAGE(result.ok, result.message);
}

TEST_CASE("TNF learns to return the image noise prior") {
  // For frame 1 the prior is the true noise (TRIP.md section 2), so the ideal fusion passes it
  // through. Train on random noises with target = prior: the error must fall at least 10x. (It
  // plateaus for ~300 steps while attention learns to match positions, then drops.)
  manual_seed(4);
  TemporalNoiseFusion tnf({.channels = 3, .width = 16, .heads = 4});
  nn::AdamW opt({{.name = "tnf", .params = tnf.named_parameters(), .lr = 3e-3, .weight_decay = 0}});
  ops::Generator gen{21, 0};
  double first = 0, last = 0;
  for (int step = 0; step < 600; ++step) {
    const Tensor residual = ops::randn({2, 3, 2, 4, 4}, DType::f32, &gen);
    const Tensor prior = ops::randn({2, 3, 2, 4, 4}, DType::f32, &gen);
    const Tensor t = from_vector<int64_t>({step % 1000, (step * 7) % 1000}, {2}, DType::i64);
    const Tensor loss = mean(square(tnf.forward(residual, prior, t) - prior));
    loss.backward();
    opt.step();
    opt.zero_grad();
    const double value = loss.item<double>();
    if (step == 0) first = value;
    last = step >= 590 ? std::max(last, value) : last;
  }
  INFO("first loss " << first << ", worst of the last 10 " << last);
  CHECK(last < first / 10);
}
