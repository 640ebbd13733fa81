// Lesson 2: autograd — fit a small MLP, look at the graph, check a gradient by finite differences.
//
// Reverse-mode automatic differentiation records every op applied to tensors that require grad
// as a node of a graph. backward() walks the graph from the loss to the leaves in reverse
// topological order, and each node turns the gradient of its output into gradients of its inputs
// (the chain rule, one local derivative at a time). Here we fit y = sin(3x) on [-1, 1] with a
// two-layer MLP, h = gelu(x W1 + b1), y_hat = h W2 + b2, by plain gradient descent on the mean
// squared error, then compare one analytic gradient with central differences
//     dL/dw ~ (L(w + eps) - L(w - eps)) / (2 eps),
// which is how tests/ checks the backward formula of every op (in float64).
//
// What to look at: the loss falls by two orders of magnitude; the names of the graph's nodes, from
// the loss back to the parameters; and the analytic and numeric gradients agreeing to ~1e-9.
// Run: build/examples/02_autograd [--quick] (200 steps instead of 2000)
#include <fmt/core.h>

#include <cmath>
#include <string>

#include "autograd/functions.h"
#include "autograd/node.h"
#include "examples/lesson.h"

using namespace trip;

struct Mlp {
  Tensor w1, b1, w2, b2;
  Tensor operator()(const Tensor& x) const { return matmul(gelu(matmul(x, w1) + b1), w2) + b2; }
  std::vector<Tensor> parameters() const { return {w1, b1, w2, b2}; }
};

static Mlp make_mlp(int hidden, DType dtype) {
  auto param = [&](Dims shape, double scale) {
    return mul(randn(shape, dtype), scale).set_requires_grad();
  };
  return Mlp{param({1, hidden}, 1.0), param({hidden}, 0.1),
             param({hidden, 1}, 1.0 / std::sqrt(hidden)), param({1}, 0.0)};
}

static Tensor loss_of(const Mlp& mlp, const Tensor& x, const Tensor& y) {
  return mean(square(mlp(x) - y));
}

int main(int argc, char** argv) {
  const LessonArgs args = parse_lesson_args(argc, argv);
  const int steps = args.quick ? 200 : 2000;
  manual_seed(args.seed);
  Tensor x = reshape(linspace(-1, 1, 128, DType::f64), {128, 1});
  Tensor y = sin(mul(x, 3.0));
  Mlp mlp = make_mlp(32, DType::f64);

  // 1. Gradient descent: backward() fills .grad(); we step under no_grad and clear the grads.
  const double lr = 0.1;
  for (int step = 0; step <= steps; ++step) {
    Tensor loss = loss_of(mlp, x, y);
    if (step % (steps / 10 > 0 ? steps / 10 : 1) == 0) {
      fmt::print("step {:5d}  loss {:.6f}\n", step, loss.item());
    }
    if (step == steps) break;
    loss.backward();
    NoGradGuard no_grad;
    for (Tensor p : mlp.parameters()) {
      ops::add_(p, p.grad(), -lr);
      p.set_grad(Tensor());
    }
  }

  // 2. The graph behind the loss: follow the first input edge of each node back to a leaf.
  Tensor loss = loss_of(mlp, x, y);
  fmt::print("graph (loss back to the first layer):");
  for (auto node = loss.grad_fn(); node; node = node->next.empty() ? nullptr : node->next[0].node) {
    fmt::print(" <- {}", node->name);
  }
  fmt::print("\n");

  // 3. Finite differences on one weight, in float64.
  loss.backward();
  const double eps = 1e-6;
  Tensor w = mlp.w2;
  double analytic = w.grad().to_vector<double>()[3];
  double saved = w.to_vector<double>()[3];
  auto loss_with = [&](double value) {
    NoGradGuard no_grad;
    ops::fill_(ops::narrow(ops::reshape(w, {-1}), 0, 3, 1), value);
    return loss_of(mlp, x, y).item();
  };
  double numeric = (loss_with(saved + eps) - loss_with(saved - eps)) / (2 * eps);
  loss_with(saved);
  fmt::print("dL/dw2[3]: analytic {:.10f}  numeric {:.10f}  difference {:.1e}\n", analytic, numeric,
             std::abs(analytic - numeric));
  return std::abs(analytic - numeric) < 1e-6 ? 0 : 1;
}
