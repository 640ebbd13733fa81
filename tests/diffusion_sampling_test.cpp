// Samplers end to end: an oracle noise predictor recovers x0 exactly (DDIM and DDPM), and the
// analytic optimal predictor for a 1-d Gaussian mixture samples that mixture (DDPM with 1000
// steps, DDIM with 50); generators, callbacks, grad mode and bad options.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "autograd/functions.h"
#include "diffusion/ddim.h"
#include "diffusion/ddpm.h"
#include "diffusion/forward.h"
#include "diffusion/schedule.h"
#include "tensor/backend.h"
#include "tensor/error.h"

using namespace trip;
using namespace trip::diffusion;

namespace {

double max_abs_diff(const Tensor& a, const Tensor& b) {
  return ops::amax(ops::unary(UnaryOp::abs, ops::binary(BinaryOp::sub, a, b))).item<double>();
}

// The noise that turns the known x0 into x_t: what a perfect model predicts on the path of a
// deterministic sampler started from q_sample(x0).
NoisePredictor oracle(const NoiseSchedule& s, const Tensor& x0) {
  return [&s, x0](const Tensor& x_t, int64_t t) { return predict_eps_from_x0(s, x_t, t, x0); };
}

// p0 = sum_k w_k N(mu_k, sd_k^2). Noised by q(x_t | x0) it stays a mixture with means
// sqrt(ab) mu_k and variances ab sd_k^2 + 1 - ab, so the optimal predictor is analytic:
// eps*(x_t, t) = -sqrt(1 - ab) d/dx log p_t(x_t) (DDPM sec. 3.2, the score form of eq. (11)).
struct Mixture {
  std::vector<double> w{0.3, 0.7}, mu{-2.0, 1.5}, sd{0.3, 0.5};
  double mean() const { return w[0] * mu[0] + w[1] * mu[1]; }
  double variance() const {
    double second = 0;
    for (size_t k = 0; k < w.size(); ++k) second += w[k] * (sd[k] * sd[k] + mu[k] * mu[k]);
    return second - mean() * mean();
  }
  NoisePredictor predictor(const NoiseSchedule& s) const {
    return [this, &s](const Tensor& x_t, int64_t t) {
      CHECK_FALSE(is_grad_enabled());  // samplers run the model under no-grad
      const double ab = s.alpha_bar(t);
      std::vector<double> x = x_t.to_vector<double>();
      for (double& xi : x) {
        double log_p[2], top = -1e300;
        for (size_t k = 0; k < 2; ++k) {
          const double m = std::sqrt(ab) * mu[k], v = ab * sd[k] * sd[k] + 1.0 - ab;
          log_p[k] = std::log(w[k]) - 0.5 * std::log(v) - 0.5 * (xi - m) * (xi - m) / v;
          top = std::max(top, log_p[k]);
        }
        double z = 0, score = 0;
        for (size_t k = 0; k < 2; ++k) {
          const double m = std::sqrt(ab) * mu[k], v = ab * sd[k] * sd[k] + 1.0 - ab;
          const double r = std::exp(log_p[k] - top);
          z += r;
          score += r * (m - xi) / v;
        }
        xi = -std::sqrt(1.0 - ab) * score / z;
      }
      return from_vector(x, x_t.shape(), DType::f64);
    };
  }
};

struct Moments {
  double mean = 0, variance = 0, left_mass = 0;
  double mode_mean[2] = {0, 0}, mode_sd[2] = {0, 0};  // of the samples below / above 0
};
Moments moments(const Tensor& samples) {
  const std::vector<double> x = samples.to_vector<double>();
  Moments m;
  for (double v : x) m.mean += v;
  m.mean /= static_cast<double>(x.size());
  for (double v : x) {
    m.variance += (v - m.mean) * (v - m.mean);
    m.left_mass += v < 0 ? 1 : 0;  // the modes at -2 and 1.5 barely overlap at 0
  }
  m.variance /= static_cast<double>(x.size() - 1);
  m.left_mass /= static_cast<double>(x.size());
  for (int k = 0; k < 2; ++k) {
    double n = 0, sum = 0, sq = 0;
    for (double v : x) {
      if ((v < 0) == (k == 0)) n += 1, sum += v, sq += v * v;
    }
    m.mode_mean[k] = sum / n;
    m.mode_sd[k] = std::sqrt((sq - sum * sum / n) / (n - 1));
  }
  return m;
}

// `allowance` is added to the per-mode tolerances for samplers whose few large steps bias the
// modes (measured: DDIM 50 steps eta 0 moves the left mode's mean by ~0.04, eta 1 shrinks the
// right mode's sd by ~0.055); DDPM with all 1000 steps gets none.
void check_mixture(const Moments& got, const Mixture& mix, double n, double allowance) {
  // Tolerances of 4 standard errors of each statistic for n independent samples.
  const double var = mix.variance();
  CHECK(std::abs(got.mean - mix.mean()) < 4 * std::sqrt(var / n));
  // Var of the sample variance is (m4 - var^2) / n; m4 <= 3 var^2 bounds it for this mixture.
  CHECK(std::abs(got.variance - var) < 4 * std::sqrt(2.0 * var * var / n));
  CHECK(std::abs(got.left_mass - mix.w[0]) < 4 * std::sqrt(mix.w[0] * mix.w[1] / n));
  // Each mode's own mean and spread: sharper tests of the score near each component.
  for (size_t k = 0; k < 2; ++k) {
    const double n_k = mix.w[k] * n;
    CHECK(std::abs(got.mode_mean[k] - mix.mu[k]) < 4 * mix.sd[k] / std::sqrt(n_k) + allowance);
    CHECK(std::abs(got.mode_sd[k] - mix.sd[k]) < 4 * mix.sd[k] / std::sqrt(2 * n_k) + allowance);
  }
}

}  // namespace

TEST_CASE("DDIM with the oracle noise recovers x0 to float64 precision") {
  const NoiseSchedule s = NoiseSchedule::linear();
  ops::Generator gen{7};
  const Tensor x0 = randn({3, 2, 5}, DType::f64, &gen);
  const Tensor x_T =
      q_sample(s, x0, full({3}, 999, DType::i64), randn({3, 2, 5}, DType::f64, &gen));
  for (TimestepSpacing spacing : {TimestepSpacing::leading, TimestepSpacing::trailing}) {
    for (int64_t steps : {50, 37, 10}) {
      for (double eta : {0.0, 1.0}) {
        CAPTURE(steps);
        CAPTURE(eta);
        DdimOptions o;
        o.steps = steps;
        o.spacing = spacing;
        o.eta = eta;
        // With the exact x0 the last step (ab_prev = 1) returns x0 whatever the noise was.
        CHECK(max_abs_diff(ddim_sample(s, oracle(s, x0), x_T, o, &gen), x0) < 1e-10);
      }
    }
  }
  // Without set_alpha_to_one the chain ends at alpha_bar_0: sqrt(ab_0) x0 + sqrt(1 - ab_0) eps,
  // with eps the noise of x_T when the chain starts where x_T was made (trailing: t = 999).
  DdimOptions o;
  o.set_alpha_to_one = false;
  o.spacing = TimestepSpacing::trailing;
  const Tensor end = ddim_sample(s, oracle(s, x0), x_T, o);
  const double ab0 = s.alpha_bar(0);
  const Tensor eps = predict_eps_from_x0(s, x_T, 999, x0);
  CHECK(max_abs_diff(end, std::sqrt(ab0) * x0 + std::sqrt(1.0 - ab0) * eps) < 1e-10);
}

TEST_CASE("DDPM with the oracle noise ends exactly at x0") {
  const NoiseSchedule s = NoiseSchedule::cosine();
  ops::Generator gen{8};
  const Tensor x0 = randn({2, 3}, DType::f64, &gen);
  const Tensor x_T = randn({2, 3}, DType::f64, &gen);
  DdpmOptions o;
  o.steps = 100;
  // Whatever the path, the last step (t = 0 -> end) maps the oracle's x0^ = x0 to x0.
  CHECK(max_abs_diff(ddpm_sample(s, oracle(s, x0), x_T, o, &gen), x0) < 1e-12);
}

TEST_CASE("DDPM ancestral sampling with the optimal predictor samples a Gaussian mixture") {
  const NoiseSchedule s = NoiseSchedule::linear();
  const Mixture mix;
  const int64_t n = 4000;
  ops::Generator gen{11};
  int last = 0;
  const Tensor x =
      ddpm_sample(s, mix.predictor(s), {n, 1}, DType::f64, &gen, {}, [&](int step, int total) {
        last = step;
        CHECK(total == 1000);
      });
  CHECK(last == 1000);
  check_mixture(moments(x), mix, static_cast<double>(n), 0.0);
}

TEST_CASE("DDIM (50 steps, eta 0) with the optimal predictor samples a Gaussian mixture") {
  const NoiseSchedule s = NoiseSchedule::linear();
  const Mixture mix;
  const int64_t n = 4000;
  ops::Generator gen{12};
  DdimOptions o;
  o.steps = 50;
  check_mixture(moments(ddim_sample(s, mix.predictor(s), {n, 1}, DType::f64, &gen, o)), mix,
                static_cast<double>(n), 0.04);
  // Trailing spacing starts at t = 999 too; eta = 1 makes it ancestral.
  o.spacing = TimestepSpacing::trailing;
  o.eta = 1.0;
  check_mixture(moments(ddim_sample(s, mix.predictor(s), {n, 1}, DType::f64, &gen, o)), mix,
                static_cast<double>(n), 0.06);
}

TEST_CASE("samplers: same generator seed, same samples; eta noise comes from the generator") {
  const NoiseSchedule s = NoiseSchedule::linear(100);
  const NoisePredictor model = [](const Tensor& x, int64_t) { return 0.5 * x; };
  DdimOptions o;
  o.steps = 10;
  o.eta = 0.5;
  ops::Generator a{3}, b{3}, c{4};
  const Tensor xa = ddim_sample(s, model, {2, 3}, DType::f32, &a, o);
  const Tensor xb = ddim_sample(s, model, {2, 3}, DType::f32, &b, o);
  const Tensor xc = ddim_sample(s, model, {2, 3}, DType::f32, &c, o);
  CHECK(xa.dtype() == DType::f32);
  CHECK(max_abs_diff(xa, xb) == 0.0);
  CHECK(max_abs_diff(xa, xc) > 0.0);
  ops::Generator d{3}, e{3};
  DdpmOptions p;
  p.steps = 10;
  CHECK(max_abs_diff(ddpm_sample(s, model, {4}, DType::f64, &d, p),
                     ddpm_sample(s, model, {4}, DType::f64, &e, p)) == 0.0);
  // The grad mode of the caller is restored after sampling.
  CHECK(is_grad_enabled());
}

TEST_CASE("samplers reject bad options and bad model outputs with clear errors") {
  const NoiseSchedule s = NoiseSchedule::linear(100);
  const NoisePredictor model = [](const Tensor& x, int64_t) { return zeros_like(x); };
  const Tensor x = zeros({2, 3}, DType::f64);
  auto ddim_with = [&](auto change) {
    DdimOptions o;
    o.steps = 10;
    change(o);
    return ddim_sample(s, model, x, o);
  };
  CHECK_THROWS_WITH_AS(ddim_with([](DdimOptions& o) { o.steps = 101; }),
                       doctest::Contains("steps must be in [1, T = 100], got 101"), Error);
  CHECK_THROWS_AS(ddim_with([](DdimOptions& o) { o.steps = 0; }), Error);
  CHECK_THROWS_WITH_AS(ddim_with([](DdimOptions& o) { o.eta = -0.1; }),
                       doctest::Contains("eta must be >= 0"), Error);
  CHECK_THROWS_AS(ddim_with([](DdimOptions& o) { o.clip_sample = 0.0; }), Error);
  CHECK_THROWS_AS(ddim_with([](DdimOptions& o) { o.eta = 3.0; }), Error);  // sigma > sqrt(1-ab)
  CHECK_THROWS_AS(ddim_with([](DdimOptions& o) { o.steps_offset = 10; }), Error);  // t = 100
  DdpmOptions p;
  p.steps = 200;
  CHECK_THROWS_AS(ddpm_sample(s, model, x, p), Error);
  const NoisePredictor wrong = [](const Tensor& xt, int64_t) { return zeros({3, 2}, xt.dtype()); };
  CHECK_THROWS_WITH_AS(ddim_sample(s, wrong, x), doctest::Contains("must have the shape of x_t"),
                       Error);
  const NoisePredictor f32 = [](const Tensor& xt, int64_t) { return zeros(xt.shape()); };
  CHECK_THROWS_WITH_AS(ddpm_sample(s, f32, x), doctest::Contains("dtype and device"), Error);
  CHECK_THROWS_WITH_AS(ddim_step(s, x, 100, 90, x),
                       doctest::Contains("t = 100 is outside [0, 100)"), Error);
  CHECK_THROWS_WITH_AS(ddim_step(s, x, 50, 50, x), doctest::Contains("t_prev = 50 must be below"),
                       Error);
  CHECK_THROWS_AS(ddpm_step(s, x, -1, -2, x), Error);
  CHECK_THROWS_WITH_AS(ddpm_step(s, x, 50, 40, x, {}, zeros({3}, DType::f64)),
                       doctest::Contains("noise [3] must have the shape of x_t [2, 3]"), Error);
  CHECK_THROWS_AS(ddim_sample(s, NoisePredictor(), x), Error);
  CHECK_THROWS_AS(ddim_timesteps(1000, 50, timestep_spacing_from_name("uniform")), Error);
  CHECK_THROWS_AS(prediction_type_from_name("x0"), Error);
}

TEST_CASE("CUDA: the forward process and both samplers agree with the CPU (skipped without GPU)") {
  if (!cuda_available()) return;
  const NoiseSchedule s = NoiseSchedule::scaled_linear(200);
  ops::Generator gen{21};
  const Tensor x0 = randn({3, 2, 4, 5}, DType::f64, &gen);
  const Tensor noise = randn({3, 2, 4, 5}, DType::f64, &gen);
  const Tensor t = from_vector<int64_t>({0, 77, 199}, {3}, DType::i64);
  const Tensor on_gpu = q_sample(s, to(x0, cuda()), to(t, cuda()), to(noise, cuda()));
  CHECK(on_gpu.device() == cuda());
  CHECK(max_abs_diff(to(on_gpu, kCPU), q_sample(s, x0, t, noise)) < 1e-12);
  // The same generator state gives the same eta / ancestral noise on both devices (Philox).
  const NoisePredictor model = [](const Tensor& x, int64_t) { return 0.5 * x; };
  DdimOptions o;
  o.steps = 20;
  o.eta = 0.5;
  ops::Generator a{5}, b{5};
  CHECK(max_abs_diff(
            to(ddim_sample(s, model, {2, 8}, TensorOptions(DType::f64, cuda()), &a, o), kCPU),
            ddim_sample(s, model, {2, 8}, DType::f64, &b, o)) < 1e-10);
  DdpmOptions p;
  p.steps = 20;
  CHECK(max_abs_diff(
            to(ddpm_sample(s, model, {2, 8}, TensorOptions(DType::f64, cuda()), &a, p), kCPU),
            ddpm_sample(s, model, {2, 8}, DType::f64, &b, p)) < 1e-10);
}
