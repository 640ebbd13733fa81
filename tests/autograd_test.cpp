// Autograd: the engine (accumulation, graph shapes, retain_graph, errors), grad mode, in-place
// safety, checkpointing, gradcheck itself, and float64 gradchecks of composite functions. The
// per-op gradchecks are generated from the op test table (tests/op_table*.h), not written here.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "autograd/checkpoint.h"
#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "autograd/record.h"

using namespace trip;

namespace {

Tensor f64(const std::vector<double>& values, const Dims& shape) {
  return from_vector(values, shape, DType::f64);
}

Tensor leaf(const Dims& shape, uint64_t seed) {
  ops::Generator gen{seed, 0};
  Tensor t = randn(shape, DType::f64, &gen);
  t.set_requires_grad(true);
  return t;
}

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

void check_close(const Tensor& actual, const std::vector<double>& expected, double tol = 1e-12) {
  std::vector<double> got = values(actual);
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i)
    CHECK(got[i] == doctest::Approx(expected[i]).epsilon(tol));
}

// Runs gradcheck and shows its message when it fails.
void check_gradients(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                     const std::vector<Tensor>& inputs) {
  GradcheckResult r = gradcheck(fn, inputs);
  INFO(r.message);
  CHECK(r.ok);
}

}  // namespace

// ---------------------------------------------------------------- engine

TEST_CASE("gradients accumulate across backward calls, like PyTorch") {
  Tensor w = f64({1, 2, 3}, {3});
  w.set_requires_grad(true);
  sum(w * w).backward();
  check_close(w.grad(), {2, 4, 6});
  sum(w * w).backward();  // a new graph; the gradient adds to the one already there
  check_close(w.grad(), {4, 8, 12});
  w.set_grad(Tensor());  // zero_grad
  sum(3.0 * w).backward();
  check_close(w.grad(), {3, 3, 3});
}

TEST_CASE("a diamond graph sums the gradients of both paths") {
  Tensor x = f64({1, -2}, {2});
  x.set_requires_grad(true);
  Tensor a = x * 2.0, b = x * 3.0;  // y = 6 x^2, dy/dx = 12 x
  sum(a * b).backward();
  check_close(x.grad(), {12, -24});

  // The same tensor used twice by one op.
  Tensor z = f64({5}, {1});
  z.set_requires_grad(true);
  sum(z + z).backward();
  check_close(z.grad(), {2});
}

TEST_CASE("a chain of 10000 ops neither overflows the stack in backward nor in destruction") {
  Tensor x = f64({1, 2}, {2});
  x.set_requires_grad(true);
  {
    Tensor y = x;
    for (int i = 0; i < 10000; ++i) y = y * 1.0 + 0.5;
    sum(y).backward();
  }
  check_close(x.grad(), {1, 1});
  {
    Tensor y = x;
    for (int i = 0; i < 100000; ++i) y = y + 1.0;
    CHECK(y.grad_fn() != nullptr);
  }  // dropping the last handle frees 100000 nodes
}

TEST_CASE("leaf gradients are unshared, contiguous tensors") {
  Tensor a = f64({1, 2, 3}, {3}), b = f64({4, 5, 6}, {3});
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  Tensor g = f64({1, 1, 1}, {3});
  (a + b).backward(g);  // AddBackward hands one tensor to both inputs
  CHECK(a.grad().storage() != b.grad().storage());
  CHECK(a.grad().storage() != g.storage());
  ops::mul_(a.grad(), 2.0);  // what gradient clipping does
  check_close(b.grad(), {1, 1, 1});
  check_close(g, {1, 1, 1});

  Tensor c = f64({1, 2}, {2, 1});
  c.set_requires_grad(true);
  sum(expand(c, {2, 3})).backward();  // the gradient arrives as a broadcast (stride-0) view
  CHECK(c.grad().is_contiguous());
  check_close(c.grad(), {3, 3});
}

TEST_CASE("broadcasting ops reduce gradients to each input's shape and dtype") {
  Tensor a = leaf({3, 1}, 1), b = leaf({4}, 2);
  sum(a * b).backward();
  CHECK(a.grad().shape() == Dims{3, 1});
  CHECK(b.grad().shape() == Dims{4});
  // d/da sum_ij a_i b_j = sum_j b_j
  double sum_b = ops::sum(b).item<double>();
  for (double v : values(a.grad())) CHECK(v == doctest::Approx(sum_b));

  Tensor f = ops::ones({2}, DType::f32);
  f.set_requires_grad(true);
  sum(to(f, DType::f64) * 3.0).backward();
  CHECK(f.grad().dtype() == DType::f32);
  check_close(f.grad(), {3, 3});
}

TEST_CASE("retain_graph allows a second backward; without it the error names the node") {
  Tensor x = f64({1, 2}, {2});
  x.set_requires_grad(true);
  Tensor loss = sum(x * x);
  loss.backward(Tensor(), /*retain_graph=*/true);
  loss.backward();
  check_close(x.grad(), {4, 8});
  CHECK_THROWS_WITH_AS(loss.backward(),
                       doctest::Contains("backward through the graph a second time"), Error);
  try {
    loss.backward();
  } catch (const Error& e) {
    std::string what = e.what();
    CHECK(what.find("SumBackward") != std::string::npos);
    CHECK(what.find("retain_graph=true") != std::string::npos);
  }
}

TEST_CASE("backward errors: non-scalar without gradient, wrong gradient shape, no grad") {
  Tensor x = leaf({2, 3}, 3);
  Tensor y = x * 2.0;
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("shape [2, 3]"), Error);
  CHECK_THROWS_WITH_AS(y.backward(ops::ones({3, 2}, DType::f64)),
                       doctest::Contains("gradient has shape [3, 2]"), Error);
  Tensor plain = ops::ones({2});
  CHECK_THROWS_WITH_AS(sum(plain).backward(), doctest::Contains("does not require grad"), Error);
  y.backward(ops::ones({2, 3}, DType::f64));  // explicit gradient: fine
  check_close(x.grad(), std::vector<double>(6, 2.0));
}

TEST_CASE("grad mode: NoGradGuard, EnableGradGuard, nesting") {
  Tensor x = leaf({2}, 4);
  CHECK(is_grad_enabled());
  {
    NoGradGuard no_grad;
    CHECK(!is_grad_enabled());
    Tensor y = x * 2.0;
    CHECK(!y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
    {
      EnableGradGuard grad_on;
      CHECK((x * 2.0).requires_grad());
    }
    CHECK(!is_grad_enabled());
  }
  CHECK(is_grad_enabled());
  CHECK((x * 2.0).requires_grad());
}

TEST_CASE("detach shares storage and cuts the graph") {
  Tensor x = f64({1, 2, 3}, {3});
  x.set_requires_grad(true);
  Tensor d = detach(x);
  CHECK(!d.requires_grad());
  CHECK(d.is_leaf());
  CHECK(d.storage() == x.storage());
  sum(d * x).backward();  // d is a constant: d(x_const * x)/dx = x
  check_close(x.grad(), {1, 2, 3});
}

TEST_CASE("leaves and non-leaves") {
  Tensor w = leaf({2}, 5);
  Tensor y = w * w;
  CHECK(w.is_leaf());
  CHECK(!y.is_leaf());
  CHECK(y.requires_grad());
  REQUIRE(y.grad_fn() != nullptr);
  CHECK(y.grad_fn()->name == "MulBackward");
  CHECK(w.grad_fn() == nullptr);
  CHECK_THROWS_WITH_AS(y.set_requires_grad(false), doctest::Contains("only leaves"), Error);
  Tensor i = ops::zeros({2}, DType::i64);
  CHECK_THROWS_WITH_AS(i.set_requires_grad(true), doctest::Contains("floating"), Error);
  sum(y).backward();
  CHECK(w.grad().defined());
  CHECK(!y.grad().defined());  // non-leaf gradients are not kept
  // An op that returns its input itself (contiguous of a contiguous tensor) still gets its own
  // node instead of changing the leaf.
  Tensor c = contiguous(w);
  CHECK(!c.is_same(w));
  CHECK(w.is_leaf());
  CHECK(c.grad_fn()->name == "ContiguousBackward");
}

TEST_CASE("in-place ops refuse tensors that require grad while grad mode is on") {
  Tensor w = leaf({3}, 6);
  Tensor g = ops::ones({3}, DType::f64);
  CHECK_THROWS_WITH_AS(
      add_(w, g), doctest::Contains("add_: in-place op on a tensor that requires grad"), Error);
  CHECK_THROWS_WITH_AS(mul_(w, 0.5), doctest::Contains("NoGradGuard"), Error);
  CHECK_THROWS_WITH_AS(copy_(g, w), doctest::Contains("copy_"), Error);  // would lose w's grad
  std::vector<double> before = values(w);
  {
    NoGradGuard no_grad;  // an optimizer step
    add_(w, g, -0.5);
  }
  for (size_t i = 0; i < before.size(); ++i)
    CHECK(values(w)[i] == doctest::Approx(before[i] - 0.5));
  fill_(g, 2.0);  // nothing requires grad: fine
  check_close(g, {2, 2, 2});
}

TEST_CASE("a tensor saved for backward and then modified in place is detected") {
  Tensor w = leaf({3}, 7);
  Tensor x = f64({1, 2, 3}, {3});
  Tensor y = x * w;  // MulBackward saves x
  {
    NoGradGuard no_grad;
    add_(x, ops::ones({3}, DType::f64));
  }
  CHECK_THROWS_WITH_AS(sum(y).backward(),
                       doctest::Contains("saved for backward by MulBackward was modified in place"),
                       Error);
}

TEST_CASE("split: parts without a gradient count as zeros") {
  Tensor x = f64({1, 2, 3, 4, 5}, {5});
  x.set_requires_grad(true);
  std::vector<Tensor> parts = split(x, 2, 0);
  REQUIRE(parts.size() == 3);
  sum(parts[1] * 3.0).backward();
  check_close(x.grad(), {0, 0, 3, 3, 0});
}

TEST_CASE("max with indices sends the gradient to the first extreme") {
  Tensor x = f64({1, 5, 5, 2, 0, 3}, {2, 3});
  x.set_requires_grad(true);
  auto [values_, indices] = max(x, 1);
  CHECK(indices.to_vector<int64_t>() == std::vector<int64_t>{1, 2});
  sum(values_).backward();
  check_close(x.grad(), {0, 1, 0, 0, 0, 1});
}

TEST_CASE("ties share the gradient; the norm of zero has a zero gradient") {
  Tensor x = f64({1, 3, 3}, {3});
  x.set_requires_grad(true);
  sum(amax(x)).backward();
  check_close(x.grad(), {0, 0.5, 0.5});
  x.set_grad(Tensor());
  sum(maximum(x, x)).backward();  // maximum(x, x) == x
  check_close(x.grad(), {1, 1, 1});

  Tensor z = ops::zeros({2, 2}, DType::f64);
  z.set_requires_grad(true);
  sum(norm(z, 2.0, {1})).backward();
  check_close(z.grad(), {0, 0, 0, 0});
}

// ---------------------------------------------------------------- checkpoint

namespace {

struct Block {
  Tensor w1 = leaf({4, 6}, 11), w2 = leaf({6, 4}, 12);  // parameters captured, not passed
  std::vector<Tensor> operator()(const std::vector<Tensor>& in) const {
    Tensor h = gelu(matmul(in[0], w1));
    Tensor keep = to(lt(rand(h.shape(), DType::f64), 0.7), DType::f64);  // dropout-like
    h = h * keep;
    return {matmul(h, w2) + in[1], sum(h * h)};
  }
};

// Gradients of x, y, w1, w2 for a loss through the block, plain or checkpointed.
std::vector<std::vector<double>> block_gradients(bool use_checkpoint, bool inputs_require_grad) {
  Block block;
  Tensor x = leaf({3, 4}, 13), y = leaf({3, 4}, 14);
  x.set_requires_grad(inputs_require_grad);
  y.set_requires_grad(inputs_require_grad);
  manual_seed(99);
  std::vector<Tensor> out = use_checkpoint ? checkpoint(block, {x, y}) : block({x, y});
  if (use_checkpoint) CHECK(out[0].grad_fn()->name == "CheckpointBackward");
  ops::randn({5});  // a later draw: the recomputation must not see it
  Tensor loss = sum(tanh(out[0])) + out[1];
  loss.backward();
  std::vector<std::vector<double>> grads;
  for (const Tensor& t : {x, y, block.w1, block.w2})
    grads.push_back(t.grad().defined() ? values(t.grad()) : std::vector<double>{});
  return grads;
}

}  // namespace

TEST_CASE("checkpoint gives the gradients of the plain run, captured parameters included") {
  auto plain = block_gradients(false, true);
  auto checkpointed = block_gradients(true, true);
  REQUIRE(plain.size() == checkpointed.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    INFO("tensor " << i);
    REQUIRE(!plain[i].empty());
    REQUIRE(plain[i].size() == checkpointed[i].size());
    for (size_t j = 0; j < plain[i].size(); ++j)
      CHECK(checkpointed[i][j] == doctest::Approx(plain[i][j]).epsilon(1e-12));
  }
}

TEST_CASE("checkpoint records its node when only captured parameters require grad") {
  auto plain = block_gradients(false, false);
  auto checkpointed = block_gradients(true, false);
  CHECK(checkpointed[0].empty());  // x needs no gradient
  for (size_t i = 2; i < 4; ++i) {
    REQUIRE(checkpointed[i].size() == plain[i].size());
    for (size_t j = 0; j < plain[i].size(); ++j)
      CHECK(checkpointed[i][j] == doctest::Approx(plain[i][j]).epsilon(1e-12));
  }
}

TEST_CASE("checkpoint records nothing when nothing requires grad or grad mode is off") {
  auto fn = [](const std::vector<Tensor>& in) { return std::vector<Tensor>{exp(in[0])}; };
  Tensor x = ops::ones({2}, DType::f64);
  CHECK(!checkpoint(fn, {x})[0].requires_grad());
  Tensor w = leaf({2}, 15);
  NoGradGuard no_grad;
  CHECK(!checkpoint(fn, {w})[0].requires_grad());
}

// ---------------------------------------------------------------- gradcheck

namespace {

// square with a deliberately wrong backward (g * x instead of 2 g x), and the correct one.
Tensor square_with_backward(const Tensor& x, double factor) {
  Tensor out = ops::unary(UnaryOp::square, x);
  return record("TestSquareBackward", out, {x},
                [factor, x = save(x)](const Tensor& g) { return Grads{g * x.get() * factor}; });
}

}  // namespace

TEST_CASE("gradcheck catches a wrong backward and passes the right one") {
  Tensor x = leaf({2, 3}, 21);
  GradcheckResult wrong = gradcheck(
      [](const std::vector<Tensor>& in) { return square_with_backward(in[0], 1.0); }, {x});
  CHECK(!wrong.ok);
  CHECK(wrong.max_abs_error > 0.01);
  CHECK(wrong.message.find("input 0") != std::string::npos);
  CHECK(wrong.message.find("numeric") != std::string::npos);
  GradcheckResult right = gradcheck(
      [](const std::vector<Tensor>& in) { return square_with_backward(in[0], 2.0); }, {x});
  INFO(right.message);
  CHECK(right.ok);
  CHECK(right.max_abs_error < 1e-6);
  CHECK(!x.grad().defined());  // the caller's tensors are left alone
}

TEST_CASE("gradcheck wants f64 inputs and something to check") {
  Tensor x = ops::ones({2}, DType::f32);
  x.set_requires_grad(true);
  auto fn = [](const std::vector<Tensor>& in) { return exp(in[0]); };
  CHECK_THROWS_WITH_AS(gradcheck(fn, {x}), doctest::Contains("needs f64"), Error);
  CHECK_THROWS_WITH_AS(gradcheck(fn, {ops::ones({2}, DType::f64)}),
                       doctest::Contains("no input requires grad"), Error);
}

// ---------------------------------------------------------------- composite gradchecks

TEST_CASE("gradcheck: MLP layer with broadcast bias, gelu, softmax, sum") {
  Tensor x = leaf({4, 5}, 31), w = leaf({5, 3}, 32), b = leaf({3}, 33);
  check_gradients(
      [](const std::vector<Tensor>& in) {
        Tensor h = gelu(matmul(in[0], in[1]) + in[2]);
        return sum(square(softmax(h, -1)), {0});
      },
      {x, w, b});
  check_gradients(
      [](const std::vector<Tensor>& in) {
        return log_softmax(gelu(matmul(in[0], in[1]) + in[2], /*tanh_approx=*/true), 0);
      },
      {x, w, b});
}

TEST_CASE("gradcheck: matmul with broadcast batch dims and 1-d operands") {
  auto mm = [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); };
  check_gradients(mm, {leaf({2, 1, 3, 4}, 41), leaf({5, 4, 2}, 42)});
  check_gradients(mm, {leaf({3, 4}, 43), leaf({2, 4, 2}, 44)});
  check_gradients(mm, {leaf({4}, 45), leaf({2, 4, 3}, 46)});
  check_gradients(mm, {leaf({2, 3, 4}, 47), leaf({4}, 48)});
  check_gradients(mm, {leaf({4}, 49), leaf({4}, 50)});
  check_gradients(mm, {leaf({4}, 51), leaf({4, 3}, 52)});
}

TEST_CASE("gradcheck: views chain permute -> narrow -> reshape") {
  check_gradients(
      [](const std::vector<Tensor>& in) {
        Tensor v = reshape(narrow(permute(in[0], {2, 0, 1}), 0, 1, 2), {4, 3});
        return square(v) * transpose(in[1], 0, 1);
      },
      {leaf({2, 3, 4}, 61), leaf({3, 4}, 62)});
  check_gradients(
      [](const std::vector<Tensor>& in) {
        Tensor t = unsqueeze(select(slice(in[0], 1, 0, 4, 2), 0, 1), 0);  // [1, 2, 4]
        Tensor e = expand(t, {3, 2, 4});
        return flatten(squeeze(contiguous(e) * clone(view(in[1], {3, 1, 4}))), 1);
      },
      {leaf({2, 4, 4}, 63), leaf({3, 4}, 64)});
}

namespace {
Tensor flat(const Tensor& t) { return reshape(t, {-1}); }
Tensor i64(const std::vector<int64_t>& values, const Dims& shape) {
  return from_vector(values, shape, DType::i64);
}
}  // namespace

TEST_CASE("gradcheck: elementwise ops compose, with broadcasting and scalar forms") {
  check_gradients(
      [](const std::vector<Tensor>& in) {
        Tensor a = in[0], b = in[1];  // [3, 4] and [4]
        Tensor positive = exp(a) + 0.5;
        std::vector<Tensor> parts = {a + b,
                                     a - b,
                                     a * b,
                                     a / (square(b) + 1.0),
                                     maximum(a, b),
                                     minimum(a, b),
                                     pow(positive, b),
                                     pow(positive, 2.5),
                                     pow(2.0, a),
                                     2.0 - a,
                                     3.0 / positive,
                                     -a,
                                     abs(a),
                                     log(positive),
                                     sqrt(positive),
                                     rsqrt(positive),
                                     sin(a),
                                     cos(a),
                                     tanh(a),
                                     sigmoid(a),
                                     silu(a),
                                     relu(a),
                                     clamp(a, -0.5, 0.5),
                                     erf(a),
                                     reciprocal(positive),
                                     gelu(a),
                                     gelu(a, true),
                                     a * sign(a)};
        std::vector<Tensor> flats;
        for (const Tensor& p : parts) flats.push_back(flat(p));
        return cat(flats, 0);
      },
      {leaf({3, 4}, 81), leaf({4}, 82)});
}

TEST_CASE("gradcheck: reductions compose") {
  check_gradients(
      [](const std::vector<Tensor>& in) {
        Tensor x = in[0];  // [3, 4, 5]
        std::vector<Tensor> parts = {sum(x, {0, 2}),        mean(x, {0}),
                                     amax(x, {1, 2}, true), amin(x),
                                     var(x, {1}),           trip::std(x, {2}, 0, true),
                                     norm(x, 2.0, {0}),     norm(x, 1.0, {1}),
                                     norm(x, 3.0, {2}),     norm(x, INFINITY, {2}),
                                     max(x, 1).first,       min(x, -1, true).first,
                                     sum_to(x, {4, 1}),     sum(x)};
        std::vector<Tensor> flats;
        for (const Tensor& p : parts) flats.push_back(flat(p));
        return cat(flats, 0);
      },
      {leaf({3, 4, 5}, 91)});
}

TEST_CASE("gradcheck: joining, splitting and indexing compose") {
  Tensor index = i64({2, 0, 2, 5, 1}, {5});
  Tensor gather_index = i64({0, 2, 1, 1, 2, 0, 0, 0, 1, 2, 2, 1}, {6, 2});
  Tensor scatter_index = i64({3, 0, 3, 1, 1, 2}, {2, 3});
  Tensor mask =
      from_vector(std::vector<uint8_t>{1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 1}, {4, 3}, DType::boolean);
  check_gradients(
      [&](const std::vector<Tensor>& in) {
        Tensor x = in[0], y = in[1];                  // [4, 3] and [2, 3]
        Tensor c = cat({x, y}, 0);                    // [6, 3]
        std::vector<Tensor> halves = chunk(c, 2, 1);  // [6, 2] and [6, 1]
        std::vector<Tensor> parts = {
            stack({x * 2.0, x}, 1),     halves[0] * halves[0],
            split(y, 1, 0)[1],          index_select(c, 0, index),
            gather(c, 1, gather_index), scatter_add(x, 0, scatter_index, y),
            pad(x, {1, 2, 0, 1}, 0.5),  pad(x, {-1, 0}),
            repeat(y, {2, 1, 3}),       where(mask, x, select(y, 0, 1)),
            masked_fill(x, mask, 0.25)};
        std::vector<Tensor> flats;
        for (const Tensor& p : parts) flats.push_back(flat(p));
        return cat(flats, 0);
      },
      {leaf({4, 3}, 101), leaf({2, 3}, 102)});
}

TEST_CASE("gradcheck: checkpoint of a block is differentiable like the block") {
  check_gradients(
      [](const std::vector<Tensor>& in) {
        auto block = [](const std::vector<Tensor>& v) {
          return std::vector<Tensor>{softmax(matmul(v[0], v[1]), -1), tanh(v[0])};
        };
        std::vector<Tensor> out = checkpoint(block, in);
        return cat({flat(out[0]), flat(out[1])}, 0);
      },
      {leaf({3, 4}, 111), leaf({4, 2}, 112)});
}
