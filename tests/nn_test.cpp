// nn/: the Module tree (diffusers-style dotted names, state_dict round trip, strict/non-strict
// loading, in-place dtype change, freezing, parameter counts, the printed tree) and the layers
// (float64 gradchecks, the timestep embedding against its formula, dropout statistics, init, and
// the conv/norm/attention layers over the fused kernels of autograd/conv, norm, attention.cpp).
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "nn/activation.h"
#include "nn/attention.h"
#include "nn/conv.h"
#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/feed_forward.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "nn/module.h"
#include "nn/norm.h"
#include "nn/sampling.h"
#include "nn/timestep.h"

using namespace trip;
using namespace trip::nn;
using std::make_shared;

namespace {

// A miniature of a UNet transformer block and its parent, to check that names come out exactly
// as diffusers writes them.
struct TinyBlock : Module {
  TinyBlock() : Module("TinyBlock") {
    norm1 = register_module("norm1", make_shared<GroupNorm>(2, 8));
    attn1 = register_module("attn1", make_shared<Attention>(8, 0, 2, 4));
    attn2 = register_module("attn2", make_shared<Attention>(8, 6, 2, 4));
    ff = register_module("ff", make_shared<FeedForward>(8, 0, 2));
  }
  std::shared_ptr<GroupNorm> norm1;
  std::shared_ptr<Attention> attn1, attn2;
  std::shared_ptr<FeedForward> ff;
};

struct TinyNet : Module {
  TinyNet() : Module("TinyNet") {
    time_embedding = register_module("time_embedding", make_shared<TimestepEmbedding>(4, 8));
    down_blocks = register_module("down_blocks", make_shared<ModuleList>());
    down_blocks->push_back(make_shared<TinyBlock>());
    down_blocks->push_back(make_shared<TinyBlock>());
    position_ids = register_buffer("position_ids", arange(0, 4, 1, DType::i64));
    up = register_module("up", make_shared<Upsample2D>(8));
  }
  std::shared_ptr<TimestepEmbedding> time_embedding;
  std::shared_ptr<ModuleList> down_blocks;
  std::shared_ptr<Upsample2D> up;
  Tensor position_ids;
};

std::vector<std::string> names_of(const NamedTensors& tensors) {
  std::vector<std::string> out;
  for (const auto& [name, _] : tensors) out.push_back(name);
  return out;
}

std::vector<std::string> block_names(const std::string& p) {
  std::vector<std::string> out{p + "norm1.weight", p + "norm1.bias"};
  for (std::string attn : {"attn1.", "attn2."})
    for (std::string leaf :
         {"to_q.weight", "to_k.weight", "to_v.weight", "to_out.0.weight", "to_out.0.bias"})
      out.push_back(p + attn + leaf);
  for (std::string leaf :
       {"ff.net.0.proj.weight", "ff.net.0.proj.bias", "ff.net.2.weight", "ff.net.2.bias"})
    out.push_back(p + leaf);
  return out;
}

std::vector<std::string> tiny_net_parameter_names() {
  std::vector<std::string> out{"time_embedding.linear_1.weight", "time_embedding.linear_1.bias",
                               "time_embedding.linear_2.weight", "time_embedding.linear_2.bias"};
  for (std::string p : {"down_blocks.0.", "down_blocks.1."})
    for (auto& n : block_names(p)) out.push_back(n);
  out.push_back("up.conv.weight");
  out.push_back("up.conv.bias");
  return out;
}

void check_gradients(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                     const std::vector<Tensor>& inputs) {
  GradcheckResult r = gradcheck(fn, inputs);
  INFO(r.message);
  CHECK(r.ok);
}

Tensor leaf(const Dims& shape, uint64_t seed) {
  ops::Generator gen{seed, 0};
  Tensor t = randn(shape, DType::f64, &gen);
  t.set_requires_grad(true);
  return t;
}

}  // namespace

// ---------------------------------------------------------------- the module tree

TEST_CASE("parameter and buffer names follow diffusers' dotted names exactly") {
  TinyNet net;
  CHECK(names_of(net.named_parameters()) == tiny_net_parameter_names());
  CHECK(names_of(net.named_buffers()) == std::vector<std::string>{"position_ids"});
  // state_dict: each module's own parameters, then its buffers, then its children (PyTorch order).
  std::vector<std::string> expected{"position_ids"};
  for (auto& n : tiny_net_parameter_names()) expected.push_back(n);
  CHECK(names_of(net.state_dict()) == expected);
  CHECK(net.parameters().size() == tiny_net_parameter_names().size());
  auto modules = net.named_modules();
  CHECK(modules.front().first.empty());  // the root itself
  bool found = false;
  for (const auto& [name, m] : modules)
    if (name == "down_blocks.1.attn2.to_out.0") found = m->type_name() == "Linear";
  CHECK(found);
  // The typed handles are the registered tensors.
  CHECK(net.named_parameters()[0].second.is_same(net.time_embedding->linear_1->weight));
  CHECK(net.down_blocks->at<TinyBlock>(1)->ff->out->bias.is_same(
      net.named_parameters()[4 + 2 * block_names("").size() - 1].second));
}

TEST_CASE("registration rejects duplicate and dotted names; ModuleList checks types") {
  struct Bad : Module {
    Bad() : Module("Bad") {}
    void add(const std::string& name) { register_parameter(name, zeros({1})); }
  };
  Bad bad;
  bad.add("w");
  CHECK_THROWS_AS(bad.add("w"), Error);
  CHECK_THROWS_AS(bad.add("a.b"), Error);
  ModuleList list;
  list.push_back(make_shared<Linear>(2, 2));
  CHECK(list.at<Linear>(0)->out_features == 2);
  CHECK_THROWS_AS(list.at<Dropout>(0), Error);
  CHECK_THROWS_AS(list[1], Error);
}

TEST_CASE("parameter counts") {
  CHECK(Linear(3, 4).num_parameters() == 16);
  CHECK(Linear(3, 4, false).num_parameters() == 12);
  CHECK(Conv2d(2, 4, 3).num_parameters() == 4 * 2 * 9 + 4);
  CHECK(Conv3d(2, 4, {3, 1, 1}).num_parameters() == 4 * 2 * 3 + 4);
  CHECK(GroupNorm(2, 8).num_parameters() == 16);
  CHECK(Attention(8, 6, 2, 4).num_parameters() == 8 * 8 + 2 * 6 * 8 + 8 * 8 + 8);
  CHECK(FeedForward(8, 0, 2).num_parameters() == (8 * 32 + 32) + (16 * 8 + 8));
}

TEST_CASE("state_dict round trip into a fresh model") {
  manual_seed(1);
  TinyNet a;
  TinyNet b;  // drawn later from the generator: different values
  CHECK(a.time_embedding->linear_1->weight.to_vector<float>() !=
        b.time_embedding->linear_1->weight.to_vector<float>());
  Tensor handle = b.up->conv->weight;
  LoadReport report = b.load_state_dict(a.state_dict());
  CHECK(report.ok());
  NamedTensors sa = a.state_dict(), sb = b.state_dict();
  REQUIRE(sa.size() == sb.size());
  for (size_t i = 0; i < sa.size(); ++i) {
    INFO(sa[i].first);
    CHECK(sa[i].second.to_vector<double>() == sb[i].second.to_vector<double>());
    CHECK(!sa[i].second.is_same(sb[i].second));  // copied into b's own tensors
  }
  CHECK(handle.is_same(b.up->conv->weight));
  CHECK(handle.requires_grad());
}

TEST_CASE("load_state_dict converts dtype and reports missing, unexpected and mismatched keys") {
  Linear lin(3, 4);
  NamedTensors given{{"weight", full({4, 3}, 0.5, DType::f64)}, {"extra", zeros({1})}};
  CHECK_THROWS_WITH_AS(lin.load_state_dict(given, true),
                       doctest::Contains("missing keys [bias], unexpected [extra]"), Error);
  CHECK(lin.weight.to_vector<float>()[0] != 0.5f);  // a failed load changes nothing
  LoadReport report = lin.load_state_dict(given, false);
  CHECK(report.missing == std::vector<std::string>{"bias"});
  CHECK(report.unexpected == std::vector<std::string>{"extra"});
  CHECK(lin.weight.dtype() == DType::f32);  // converted into the existing f32 tensor
  CHECK(lin.weight.to_vector<float>() == std::vector<float>(12, 0.5f));
  NamedTensors wrong{{"weight", zeros({3, 4})}, {"bias", zeros({4})}};
  CHECK_THROWS_WITH_AS(lin.load_state_dict(wrong, false),
                       doctest::Contains("weight (model [4, 3], given [3, 4])"), Error);
}

TEST_CASE("to(DType) changes parameters in place: handles stay valid") {
  TinyNet net;
  Tensor w = net.time_embedding->linear_1->weight;            // e.g. held by an optimizer
  sum(net.time_embedding->forward(ones({2, 4}))).backward();  // an f32 backward first
  w.set_grad(Tensor());
  std::vector<double> before = w.to_vector<double>();
  net.to(DType::f64);
  CHECK(w.dtype() == DType::f64);
  CHECK(w.requires_grad());
  CHECK(w.to_vector<double>() == before);
  CHECK(net.named_parameters()[0].second.is_same(w));
  for (const auto& [name, p] : net.named_parameters()) CHECK(p.dtype() == DType::f64);
  CHECK(net.position_ids.dtype() == DType::i64);  // integer buffers keep their type
  // The layer computes in the new dtype and gradients reach the same handle.
  sum(net.time_embedding->forward(ones({2, 4}, DType::f64))).backward();
  REQUIRE(w.grad().defined());
  CHECK(w.grad().dtype() == DType::f64);
  net.to(DType::f32);  // an existing gradient is converted along with its parameter
  CHECK(w.grad().dtype() == DType::f32);
  CHECK_THROWS_AS(net.to(DType::i32), Error);
}

TEST_CASE("freezing and train/eval are recursive") {
  TinyNet net;
  net.down_blocks->set_requires_grad(false);
  for (const auto& [name, p] : net.named_parameters())
    CHECK(p.requires_grad() == (name.rfind("down_blocks", 0) != 0));
  Linear& lin = *net.time_embedding->linear_1;
  lin.set_requires_grad(false);
  CHECK(!lin.forward(ones({1, 4})).requires_grad());  // nothing left to train: no graph
  CHECK(net.is_training());
  net.eval();
  CHECK(!net.down_blocks->at<TinyBlock>(0)->ff->dropout->is_training());
  net.train();
  CHECK(net.up->conv->is_training());
}

TEST_CASE("the printed module tree") {
  TimestepEmbedding emb(4, 8);
  CHECK(emb.to_string() ==
        "TimestepEmbedding() [112 params]\n"
        "  (linear_1): Linear(in_features=4, out_features=8, bias=true) [40 params]\n"
        "  (act): SiLU() [0 params]\n"
        "  (linear_2): Linear(in_features=8, out_features=8, bias=true) [72 params]\n");
  Attention attn(8, 0, 2, 4);
  CHECK(attn.to_string().find("  (to_out): ModuleList() [72 params]\n"
                              "    (0): Linear(in_features=8, out_features=8, bias=true) [72 "
                              "params]\n"
                              "    (1): Dropout(p=0) [0 params]\n") != std::string::npos);
}

// ---------------------------------------------------------------- initialisation

TEST_CASE("PyTorch default initialisation and zero_") {
  manual_seed(3);
  Linear lin(64, 32);
  double bound = 1.0 / 8.0;  // kaiming_uniform(a = sqrt(5)) and the bias: 1 / sqrt(fan_in)
  double max_w = amax(abs(lin.weight)).item();
  CHECK(max_w <= bound);
  CHECK(max_w > 0.9 * bound);  // 2048 draws fill the range
  CHECK(amax(abs(lin.bias)).item() <= bound);
  CHECK(std::abs(mean(lin.weight).item()) < 0.01);
  Conv2d conv(4, 8, 3);  // fan_in 36
  CHECK(amax(abs(conv.weight)).item() <= 1.0 / 6.0);
  GroupNorm gn(2, 8);
  CHECK(gn.weight.to_vector<float>() == std::vector<float>(8, 1.0f));
  CHECK(gn.bias.to_vector<float>() == std::vector<float>(8, 0.0f));
  Embedding emb(1000, 16);
  CHECK(std::abs(mean(emb.weight).item()) < 0.02);
  CHECK(trip::std(emb.weight).item() == doctest::Approx(1.0).epsilon(0.03));
  zero_(conv);
  CHECK(sum(abs(conv.weight)).item() == 0.0);
  CHECK(conv.weight.requires_grad());
}

// ---------------------------------------------------------------- layers, float64 gradchecks

TEST_CASE("Linear: forward and gradients (input, weight, bias)") {
  Linear lin(3, 2);
  lin.to(DType::f64);
  NamedTensors values{{"weight", from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3}, DType::f64)},
                      {"bias", from_vector<double>({0.5, -1}, {2}, DType::f64)}};
  lin.load_state_dict(values);
  Tensor y = lin.forward(from_vector<double>({1, 0, -1}, {1, 3}, DType::f64));
  CHECK(y.to_vector<double>() == std::vector<double>{1 - 3 + 0.5, 4 - 6 - 1.0});
  // Swapping the layer's handles lets gradcheck perturb the parameters too.
  check_gradients(
      [&](const std::vector<Tensor>& in) {
        Linear probe(3, 2);
        probe.weight = in[1];
        probe.bias = in[2];
        return probe.forward(in[0]);
      },
      {leaf({2, 5, 3}, 1), leaf({2, 3}, 2), leaf({2}, 3)});
}

TEST_CASE("GEGLU feed-forward, timestep MLP, Upsample and avg pooling: gradients") {
  FeedForward ff(4, 3, 2);
  ff.to(DType::f64);
  check_gradients([&](const std::vector<Tensor>& in) { return ff.forward(in[0]); },
                  {leaf({2, 3, 4}, 4)});
  TimestepEmbedding mlp(6, 5, 4);
  mlp.to(DType::f64);
  check_gradients([&](const std::vector<Tensor>& in) { return mlp.forward(in[0]); },
                  {leaf({3, 6}, 5)});
  Upsample2D up(3, /*use_conv=*/false);
  check_gradients([&](const std::vector<Tensor>& in) { return up.forward(in[0]); },
                  {leaf({2, 3, 2, 3}, 6)});
  Downsample2D down(3, /*use_conv=*/false);
  check_gradients([&](const std::vector<Tensor>& in) { return down.forward(in[0]); },
                  {leaf({1, 3, 4, 2}, 7)});
}

TEST_CASE("GEGLU is hidden * gelu(gate) with diffusers' halves") {
  GEGLU geglu(1, 1);
  geglu.to(DType::f64);
  geglu.load_state_dict({{"proj.weight", from_vector<double>({2, 1}, {2, 1}, DType::f64)},
                         {"proj.bias", zeros({2}, DType::f64)}});
  double x = 0.7, hidden = 2 * x, gate = x;
  double expected = hidden * 0.5 * gate * (1 + std::erf(gate / std::sqrt(2.0)));
  CHECK(geglu.forward(full({1, 1}, x, DType::f64)).item() == doctest::Approx(expected));
}

TEST_CASE("nearest upsampling repeats each pixel into a 2x2 block") {
  Tensor x = from_vector<float>({1, 2, 3, 4}, {1, 1, 2, 2});
  CHECK(upsample_nearest2x(x).to_vector<float>() ==
        std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  CHECK(avg_pool2x(upsample_nearest2x(x)).to_vector<float>() == x.to_vector<float>());
}

TEST_CASE("Attention (matmul + softmax path): self and cross, gradients") {
  Attention self_attn(6, 0, 2, 3);
  self_attn.use_fused = false;
  self_attn.to(DType::f64);
  Tensor x = leaf({2, 4, 6}, 8);
  CHECK(self_attn.forward(x).shape() == Dims{2, 4, 6});
  check_gradients([&](const std::vector<Tensor>& in) { return self_attn.forward(in[0]); }, {x});
  Attention cross(6, 5, 2, 4);
  cross.use_fused = false;
  cross.to(DType::f64);
  check_gradients([&](const std::vector<Tensor>& in) { return cross.forward(in[0], in[1]); },
                  {leaf({2, 3, 6}, 9), leaf({2, 7, 5}, 10)});
  // One key: softmax is 1, so the output is to_out(to_v(context)) for every query.
  Tensor ctx = leaf({1, 1, 5}, 11);
  Tensor y = cross.forward(leaf({1, 3, 6}, 12), ctx);
  Tensor expected = cross.to_out->at<Linear>(0)->forward(cross.to_v->forward(ctx));
  for (int64_t i = 0; i < 3; ++i)
    CHECK(amax(abs(select(y, 1, i) - select(expected, 1, 0))).item() < 1e-12);
}

TEST_CASE("Embedding looks rows up by index, with gradients into the table") {
  Embedding emb(5, 3);
  emb.to(DType::f64);
  Tensor idx = from_vector<int64_t>({4, 0, 4, 2}, {2, 2}, DType::i64);
  Tensor y = emb.forward(idx);
  CHECK(y.shape() == Dims{2, 2, 3});
  CHECK(select(select(y, 0, 1), 0, 1).to_vector<double>() ==
        select(emb.weight, 0, 2).to_vector<double>());
  check_gradients(
      [&](const std::vector<Tensor>& in) {
        Embedding probe(5, 3);
        probe.weight = in[0];
        return probe.forward(idx);
      },
      {leaf({5, 3}, 13)});
}

// ---------------------------------------------------------------- timestep embedding, dropout

TEST_CASE("sinusoidal timestep embedding matches diffusers' formula") {
  std::vector<double> ts{0, 1, 10, 999};
  Tensor t = from_vector<double>(ts, {4}, DType::f64);
  auto expected = [&](int64_t dim, bool flip, double shift, size_t row, int64_t col) {
    int64_t half = dim / 2;
    if (col >= 2 * half) return 0.0;  // the zero column of an odd dim
    bool first = col < half;
    int64_t k = first ? col : col - half;
    double freq = std::exp(-std::log(10000.0) * double(k) / (double(half) - shift));
    double a = ts[row] * freq;
    return first != flip ? std::sin(a) : std::cos(a);
  };
  struct Case {
    int64_t dim;
    bool flip;
    double shift;
  };
  for (Case c : {Case{6, false, 1.0}, Case{8, true, 0.0}, Case{7, true, 1.0}}) {
    CAPTURE(c.dim);
    Tensor emb = timestep_embedding(t, c.dim, c.flip, c.shift, 1.0, 10000.0, DType::f64);
    REQUIRE(emb.shape() == Dims{4, c.dim});
    std::vector<double> got = emb.to_vector<double>();
    for (size_t r = 0; r < 4; ++r)
      for (int64_t col = 0; col < c.dim; ++col)
        CHECK(got[r * c.dim + col] == doctest::Approx(expected(c.dim, c.flip, c.shift, r, col)));
  }
  // dim 6, shift 1: frequencies 1, 1e-2, 1e-4; t = 10 gives sin(10), sin(0.1), sin(1e-3), cos...
  Tensor row = select(timestep_embedding(t, 6, false, 1.0, 1.0, 10000.0, DType::f64), 0, 2);
  std::vector<double> r = row.to_vector<double>();
  CHECK(r[1] == doctest::Approx(std::sin(0.1)));
  CHECK(r[5] == doctest::Approx(std::cos(1e-3)));
  // The Timesteps module of UNet3D: flip_sin_to_cos, shift 0, f32 by default.
  Timesteps module(8, true, 0.0);
  CHECK(module.forward(t).dtype() == DType::f32);
  CHECK(module.forward(t).to_vector<float>()[0] == 1.0f);  // cos(0)
}

TEST_CASE("Dropout: statistics in training, identity in eval, reproducible by seed") {
  Dropout drop(0.3);
  Tensor x = ones({200000});
  manual_seed(5);
  Tensor y = drop.forward(x);
  std::vector<float> v = y.to_vector<float>();
  int64_t zeros_count = 0, badly_scaled = 0;  // kept elements are scaled by 1 / (1 - p)
  for (float e : v) {
    if (e == 0.0f)
      ++zeros_count;
    else if (std::abs(e - 1.0f / 0.7f) > 1e-6f)
      ++badly_scaled;
  }
  CHECK(badly_scaled == 0);
  CHECK(double(zeros_count) / double(v.size()) == doctest::Approx(0.3).epsilon(0.02));
  CHECK(mean(y).item() == doctest::Approx(1.0).epsilon(0.01));
  manual_seed(5);
  CHECK(drop.forward(x).to_vector<float>() == v);
  drop.eval();
  CHECK(drop.forward(x).is_same(x));
  Dropout all(1.0);
  CHECK(sum(all.forward(x)).item() == 0.0);
}

// ---------------------------------------------------------------- layers over the fused kernels

TEST_CASE("Conv2d: a 1x1 conv is a Linear over channels; Conv2d/Conv3d gradients") {
  Conv2d conv(3, 4, 1);
  conv.to(DType::f64);
  Tensor x = leaf({2, 3, 2, 5}, 20);
  // [B, C, H, W] -> [B, H, W, C] @ W^T + b -> [B, O, H, W]
  Tensor w = reshape(conv.weight, {4, 3});
  Tensor expected =
      permute(matmul(permute(x, {0, 2, 3, 1}), transpose(w, 0, 1)) + conv.bias, {0, 3, 1, 2});
  CHECK(amax(abs(conv.forward(x) - expected)).item() < 1e-12);
  Conv2d conv3(2, 3, 3, 1, 1);
  conv3.to(DType::f64);
  check_gradients([&](const std::vector<Tensor>& in) { return conv3.forward(in[0]); },
                  {leaf({1, 2, 4, 3}, 21)});
  Conv3d temporal(2, 2, {3, 1, 1}, {1, 1, 1}, {1, 0, 0});  // UNet3D's temporal conv
  temporal.to(DType::f64);
  Tensor video = leaf({1, 2, 4, 2, 3}, 22);
  CHECK(temporal.forward(video).shape() == video.shape());
  check_gradients([&](const std::vector<Tensor>& in) { return temporal.forward(in[0]); }, {video});
}

TEST_CASE("Upsample2D and Downsample2D with their convs") {
  Upsample2D up(2);
  Downsample2D down(2, true, 4);
  Tensor x = randn({1, 2, 4, 6});
  CHECK(up.forward(x).shape() == Dims{1, 2, 8, 12});
  CHECK(down.forward(x).shape() == Dims{1, 4, 2, 3});
  CHECK(names_of(down.named_parameters()) == std::vector<std::string>{"conv.weight", "conv.bias"});
}

TEST_CASE("GroupNorm and LayerNorm normalise and have correct gradients") {
  GroupNorm gn(2, 4);
  gn.to(DType::f64);
  Tensor x = leaf({2, 4, 3, 3}, 23) * 3.0 + 1.0;
  Tensor groups = reshape(gn.forward(x), {2, 2, 18});
  CHECK(amax(abs(mean(groups, {2}))).item() < 1e-10);
  CHECK(amax(abs(trip::var(groups, {2}, 0) - 1.0)).item() < 1e-3);  // eps = 1e-5
  check_gradients([&](const std::vector<Tensor>& in) { return gn.forward(in[0]); },
                  {leaf({1, 4, 2, 2}, 24)});
  check_gradients([&](const std::vector<Tensor>& in) { return gn.forward(in[0], true); },
                  {leaf({1, 4, 2, 2}, 25)});
  LayerNorm ln(5);
  ln.to(DType::f64);
  Tensor y = ln.forward(leaf({3, 5}, 26) * 2.0);
  CHECK(amax(abs(mean(y, {1}))).item() < 1e-10);
  check_gradients([&](const std::vector<Tensor>& in) { return ln.forward(in[0]); },
                  {leaf({2, 3, 5}, 27)});
}

TEST_CASE("Attention: the fused kernel agrees with the matmul + softmax path") {
  Attention cross(6, 5, 2, 4);
  cross.to(DType::f64);
  Tensor x = leaf({2, 3, 6}, 28), ctx = leaf({2, 7, 5}, 29);
  Tensor fused = cross.forward(x, ctx);
  cross.use_fused = false;
  CHECK(amax(abs(fused - cross.forward(x, ctx))).item() < 1e-10);
  cross.use_fused = true;
  check_gradients([&](const std::vector<Tensor>& in) { return cross.forward(in[0], in[1]); },
                  {x, ctx});
}
