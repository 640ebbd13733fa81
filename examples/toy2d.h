// defines: what lessons 4 and 5 share: two_moons (the 2D toy data set), ToyDenoiser (a small MLP
// noise predictor eps_theta(x_t, t)), train_toy_denoiser (DDPM's training loop, Alg. 1),
// quality (distance to the data, balance of the two moons) and scatter_panel (one scatter chart).
//
// Read lesson 4 first; this header is the part of it that lesson 5 reuses unchanged.
#pragma once
#include <fmt/core.h>

#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "data/chart.h"
#include "diffusion/forward.h"
#include "nn/linear.h"
#include "nn/module.h"
#include "nn/optim/adamw.h"
#include "nn/timestep.h"

namespace toy2d {

using trip::Tensor;

// n points of two interleaved half circles ("two moons") with Gaussian jitter of 0.05, centred and
// scaled by 1 / 0.6 so that each coordinate has roughly unit spread, like the noise: [n, 2].
inline Tensor two_moons(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> angle(0, M_PI);
  std::normal_distribution<double> jitter(0, 0.05);
  std::vector<float> xy;
  for (int64_t i = 0; i < n; ++i) {
    const double a = angle(rng);
    const bool upper = i % 2 == 0;
    const double x = upper ? std::cos(a) : 1 - std::cos(a),
                 y = upper ? std::sin(a) : 0.5 - std::sin(a);
    xy.push_back(float((x + jitter(rng) - 0.5) / 0.6));
    xy.push_back(float((y + jitter(rng) - 0.25) / 0.6));
  }
  return trip::from_vector(xy, {n, 2});
}

// eps_theta(x_t, t): the point [B, 2] and a sinusoidal embedding of t (the Transformer's position
// code, as UNets embed time) go through three SiLU layers of `hidden` units to a noise estimate.
class ToyDenoiser : public trip::nn::Module {
 public:
  explicit ToyDenoiser(int64_t hidden = 128, int64_t time_dim = 32)
      : Module("ToyDenoiser"), time_dim(time_dim) {
    using trip::nn::Linear;
    in = register_module("in", std::make_shared<Linear>(2 + time_dim, hidden));
    mid1 = register_module("mid1", std::make_shared<Linear>(hidden, hidden));
    mid2 = register_module("mid2", std::make_shared<Linear>(hidden, hidden));
    out = register_module("out", std::make_shared<Linear>(hidden, 2));
  }
  // x_t [B, 2], t [B] (int64) -> predicted noise [B, 2].
  Tensor forward(const Tensor& x_t, const Tensor& t) const {
    Tensor h = trip::cat({x_t, trip::nn::timestep_embedding(t, time_dim)}, 1);
    h = trip::silu(in->forward(h));
    h = trip::silu(mid1->forward(h));
    h = trip::silu(mid2->forward(h));
    return out->forward(h);
  }
  int64_t time_dim;
  std::shared_ptr<trip::nn::Linear> in, mid1, mid2, out;
};

// DDPM's training loop (Alg. 1): draw x_0 from the data, t ~ U{0..T-1}, eps ~ N(0, I); take a
// gradient step on ||eps - eps_theta(sqrt(ab_t) x_0 + sqrt(1 - ab_t) eps, t)||^2 (eq. (14)).
// Prints the running mean of the loss `reports` times; returns the final running mean.
inline double train_toy_denoiser(ToyDenoiser& model, const Tensor& data,
                                 const trip::diffusion::NoiseSchedule& schedule, int steps,
                                 int64_t batch, uint64_t seed, int reports = 5) {
  using namespace trip;
  nn::AdamW optimizer(
      {{.name = "mlp", .params = model.named_parameters(), .lr = 5e-3, .weight_decay = 0.0}});
  ops::Generator gen{seed};
  double running = 1;
  for (int step = 1; step <= steps; ++step) {
    const Tensor pick = ops::uniform({batch}, 0, double(data.size(0)) - 1e-6, {}, &gen);
    const Tensor x0 = index_select(data, 0, to(pick, DType::i64));
    const Tensor t = diffusion::sample_timesteps(batch, schedule, &gen);
    const Tensor noise = randn({batch, 2}, {}, &gen);
    const Tensor loss =
        diffusion::epsilon_mse_loss(model.forward(diffusion::q_sample(schedule, x0, t, noise), t),
                                    diffusion::epsilon_target(schedule, x0, t, noise));
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    if (step > steps / 2) optimizer.set_lr("mlp", 5e-3 * 2 * (steps - step) / steps);  // decay
    running = step == 1 ? loss.item() : 0.98 * running + 0.02 * loss.item();
    if (step == 1 || step % std::max(1, steps / reports) == 0) {
      fmt::print("step {:5d}  loss (running mean) {:.4f}\n", step, running);
    }
  }
  return running;
}

// How well points [N, 2] match the data [M, 2] (two_moons order: even rows on the upper moon).
struct Quality {
  double distance = 0;     // mean distance to the nearest data point: the data's own spacing when
                           // the points lie on the data, more when they do not
  double upper_share = 0;  // share of points whose nearest data point is on the upper moon (0.5)
};
inline Quality quality(const Tensor& points, const Tensor& data) {
  const std::vector<float> a = points.to_vector<float>(), b = data.to_vector<float>();
  Quality q;
  for (size_t i = 0; i < a.size(); i += 2) {
    double best = std::numeric_limits<double>::infinity();
    size_t nearest = 0;
    for (size_t j = 0; j < b.size(); j += 2) {
      const double dx = a[i] - b[j], dy = a[i + 1] - b[j + 1], d = dx * dx + dy * dy;
      if (d < best) best = d, nearest = j / 2;
    }
    q.distance += std::sqrt(best);
    q.upper_share += nearest % 2 == 0;
  }
  q.distance /= double(a.size() / 2), q.upper_share /= double(a.size() / 2);
  return q;
}

// A square scatter chart of points [N, 2] over [-3, 3]^2 (the same frame in every panel).
inline trip::data::Image scatter_panel(const Tensor& points, const std::string& title,
                                       trip::data::ChartColor color = {31, 119, 180},
                                       int64_t size = 300) {
  trip::data::ChartOptions options;
  options.width = options.height = size;
  options.title = title;
  options.x_min = options.y_min = -3;
  options.x_max = options.y_max = 3;
  const std::vector<float> p = points.to_vector<float>();
  std::vector<double> x, y;
  for (size_t i = 0; i < p.size(); i += 2) x.push_back(p[i]), y.push_back(p[i + 1]);
  return trip::data::Chart(options).scatter(x, y, "", color, 1).render();
}

}  // namespace toy2d
