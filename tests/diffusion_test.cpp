// Diffusion process: schedules (float64 values against closed forms), the forward process, the
// training targets and loss (values and float64 gradchecks), timestep sampling and
// classifier-free guidance. diffusers' numbers are in diffusion_reference_test.cpp, samplers in
// diffusion_sampling_test.cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "diffusion/forward.h"
#include "diffusion/guidance.h"
#include "diffusion/schedule.h"
#include "tensor/error.h"
#include "tensor/ops.h"

using trip::diffusion::NoiseSchedule;
using namespace trip;
using namespace trip::diffusion;

namespace {

double max_abs_diff(const Tensor& a, const Tensor& b) {
  return ops::amax(ops::unary(UnaryOp::abs, ops::binary(BinaryOp::sub, a, b))).item<double>();
}

}  // namespace

TEST_CASE("linear schedule: DDPM betas and float64 cumulative product") {
  const NoiseSchedule s = NoiseSchedule::linear();
  REQUIRE(s.num_steps() == 1000);
  CHECK(s.betas().front() == doctest::Approx(1e-4).epsilon(1e-15));
  CHECK(s.betas().back() == doctest::Approx(2e-2).epsilon(1e-15));
  double product = 1.0;
  for (int t = 0; t < 1000; ++t) product *= 1.0 - s.betas()[static_cast<size_t>(t)];
  CHECK(s.alpha_bar(999) == doctest::Approx(product).epsilon(1e-14));
  // Known value of DDPM's alpha_bar_T (about 4.04e-5): small but far from float32 underflow.
  CHECK(s.alpha_bar(999) == doctest::Approx(4.0358e-5).epsilon(1e-3));
  CHECK_THROWS_AS(s.alpha_bar(1000), trip::Error);
  CHECK_THROWS_AS(s.alpha_bar(-1), trip::Error);
  CHECK_THROWS_AS(NoiseSchedule::from_name("quadratic"), trip::Error);
}

TEST_CASE("alpha_bar_at gathers per-sample values and rejects bad timesteps") {
  const NoiseSchedule s = NoiseSchedule::scaled_linear();
  const trip::Tensor t = trip::from_vector<int64_t>({0, 999, 500}, {3}, trip::DType::i64);
  const std::vector<double> got = s.alpha_bar_at(t, trip::DType::f64).to_vector<double>();
  for (size_t i = 0; i < 3; ++i) CHECK(got[i] == s.alpha_bar(std::vector<int64_t>{0, 999, 500}[i]));
  CHECK_THROWS_AS(
      s.alpha_bar_at(trip::from_vector<int64_t>({1000}, {1}, trip::DType::i64), trip::DType::f32),
      trip::Error);
  CHECK_THROWS_AS(s.alpha_bar_at(trip::ops::zeros({2}), trip::DType::f32), trip::Error);
}

TEST_CASE("cosine and scaled_linear schedules follow their closed forms") {
  const NoiseSchedule c = NoiseSchedule::cosine();
  auto f = [](double x) {
    const double v = std::cos((x + 0.008) / 1.008 * std::numbers::pi / 2);
    return v * v;
  };
  // Unclipped, alpha_bar_t telescopes to f((t + 1) / T) / f(0).
  for (int64_t t : {0, 1, 100, 500, 900}) {
    CHECK(c.alpha_bar(t) == doctest::Approx(f((t + 1) / 1000.0) / f(0)).epsilon(1e-12));
  }
  const NoiseSchedule s = NoiseSchedule::scaled_linear();
  const double a = std::sqrt(0.00085), b = std::sqrt(0.012);
  const double mid = a + (b - a) * 500.0 / 999.0;
  CHECK(s.betas()[500] == doctest::Approx(mid * mid).epsilon(1e-14));
  CHECK(NoiseSchedule::from_name("cosine", 50).num_steps() == 50);
  CHECK_THROWS_AS(NoiseSchedule::linear(0), Error);
}

TEST_CASE("q_sample, targets and x0/eps conversions: values per sample and round trips") {
  const NoiseSchedule s = NoiseSchedule::linear();
  ops::Generator gen{1};
  const Tensor x0 = randn({2, 3, 2, 2}, DType::f64, &gen);
  const Tensor noise = randn({2, 3, 2, 2}, DType::f64, &gen);
  const Tensor t = from_vector<int64_t>({5, 990}, {2}, DType::i64);
  const Tensor x_t = q_sample(s, x0, t, noise);
  // Sample by sample against scalar formulas: each sample gets its own alpha_bar.
  for (int64_t b = 0; b < 2; ++b) {
    const double ab = s.alpha_bar(b == 0 ? 5 : 990);
    const Tensor want =
        std::sqrt(ab) * select(x0, 0, b) + std::sqrt(1.0 - ab) * select(noise, 0, b);
    CHECK(max_abs_diff(select(x_t, 0, b), want) < 1e-15);
    const Tensor v = select(v_target(s, x0, t, noise), 0, b);
    CHECK(max_abs_diff(v, std::sqrt(ab) * select(noise, 0, b) -
                              std::sqrt(1.0 - ab) * select(x0, 0, b)) < 1e-15);
  }
  CHECK(max_abs_diff(epsilon_target(s, x0, t, noise), noise) == 0.0);
  CHECK(max_abs_diff(predict_x0_from_eps(s, x_t, t, noise), x0) < 1e-12);
  CHECK(max_abs_diff(predict_eps_from_x0(s, x_t, t, x0), noise) < 1e-12);
  CHECK(max_abs_diff(predict_eps_from_v(s, x_t, t, v_target(s, x0, t, noise)), noise) < 1e-12);
  // The scalar-t forms equal the tensor forms with t repeated.
  const Tensor t_same = full({2}, 300, DType::i64);
  const Tensor x_same = q_sample(s, x0, t_same, noise);
  CHECK(max_abs_diff(predict_x0_from_eps(s, x_same, 300, noise),
                     predict_x0_from_eps(s, x_same, t_same, noise)) < 1e-15);
  CHECK(max_abs_diff(predict_eps_from_x0(s, x_same, 300, x0), noise) < 1e-12);
  // Other dtypes keep their dtype; [B] samples (no other dims) work too.
  const Tensor x32 = q_sample(s, to(x0, DType::f32), t, to(noise, DType::f32));
  CHECK(x32.dtype() == DType::f32);
  CHECK(max_abs_diff(to(x32, DType::f64), x_t) < 1e-5);
  // Coefficients are computed in float64 before rounding: in bf16, alpha_bar_0 = 0.9999 rounds
  // to 1, which would make sqrt(1 - ab) 0 instead of 0.01.
  const Tensor tiny =
      q_sample(s, zeros({2, 1}, DType::bf16), from_vector<int64_t>({0, 0}, {2}, DType::i64),
               ones({2, 1}, DType::bf16));
  CHECK(to(tiny, DType::f64).to_vector<double>()[0] == doctest::Approx(0.01).epsilon(1e-2));
  const Tensor flat = q_sample(s, from_vector<double>({1.0, 2.0}, {2}, DType::f64), t,
                               from_vector<double>({0.0, 0.0}, {2}, DType::f64));
  CHECK(flat.to_vector<double>()[1] == doctest::Approx(2.0 * std::sqrt(s.alpha_bar(990))));
}

TEST_CASE("epsilon_mse_loss: value and float64 gradchecks through the forward process") {
  const Tensor pred = from_vector<double>({1, 2, 3, 4}, {2, 2}, DType::f64);
  const Tensor target = from_vector<double>({0, 2, 5, 3}, {2, 2}, DType::f64);
  CHECK(epsilon_mse_loss(pred, target).item<double>() == doctest::Approx((1 + 0 + 4 + 1) / 4.0));
  const NoiseSchedule s = NoiseSchedule::cosine();
  ops::Generator gen{2};
  const Tensor t = from_vector<int64_t>({3, 400, 999}, {3}, DType::i64);
  const Tensor x0 = randn({3, 2, 3}, DType::f64, &gen);
  const Tensor noise = randn({3, 2, 3}, DType::f64, &gen);
  // d loss / d pred, with pred a function of x_t as a model's would be.
  const GradcheckResult r1 = gradcheck(
      [&](const std::vector<Tensor>& in) {
        return epsilon_mse_loss(in[0], epsilon_target(s, x0, t, noise));
      },
      {randn({3, 2, 3}, DType::f64, &gen).set_requires_grad()});
  CHECK_MESSAGE(r1.ok, r1.message);
  // Through q_sample, the v target and the x0 and eps predictions into x0 and the noise (t below
  // the end of the cosine schedule, where 1/sqrt(alpha_bar) ~ 1e5 would swamp the finite
  // differences).
  const Tensor t2 = from_vector<int64_t>({3, 400, 800}, {3}, DType::i64);
  const GradcheckResult r2 = gradcheck(
      [&](const std::vector<Tensor>& in) {
        const Tensor x_t = q_sample(s, in[0], t2, in[1]);
        return epsilon_mse_loss(predict_x0_from_eps(s, x_t, t2, 0.5 * in[1]),
                                v_target(s, in[0], t2, in[1])) +
               epsilon_mse_loss(predict_eps_from_v(s, x_t, t2, 0.5 * in[0]), in[1]);
      },
      {clone(x0).set_requires_grad(), clone(noise).set_requires_grad()});
  CHECK_MESSAGE(r2.ok, r2.message);
  // A backward pass reaches a leaf prediction with 2 (pred - target) / numel.
  const Tensor p = clone(pred).set_requires_grad();
  epsilon_mse_loss(p, target).backward();
  CHECK(p.grad().to_vector<double>() == std::vector<double>{0.5, 0.0, -1.0, 0.5});
}

TEST_CASE("SNR loss weights (min-SNR cap, floor) and the weighted epsilon loss") {
  const NoiseSchedule s = NoiseSchedule::linear();
  const std::vector<int64_t> steps{0, 50, 150, 400, 700, 999};
  const Tensor t = from_vector<int64_t>(steps, {6}, DType::i64);
  const Tensor like = zeros({6, 2, 3}, DType::f64);
  auto snr_of = [&](size_t i) {
    const double ab = s.alpha_bar(steps[i]);
    return ab / (1 - ab);
  };
  // x0-space weight clamp(SNR, floor, gamma), divided by the SNR the plain loss carries.
  for (const auto& [floor, gamma] :
       std::vector<std::pair<double, double>>{{0.0, 5.0}, {0.05, 0.0}, {0.05, 5.0}, {1.0, 1.0}}) {
    const Tensor w = snr_loss_weights(s, t, floor, gamma, like);
    REQUIRE(w.shape() == Dims({6, 1, 1}));
    const std::vector<double> got = w.to_vector<double>();
    for (size_t i = 0; i < got.size(); ++i) {
      double x0 = std::max(snr_of(i), floor);
      if (gamma > 0) x0 = std::min(x0, gamma);
      CHECK(got[i] == doctest::Approx(x0 / snr_of(i)).epsilon(1e-12));
    }
  }
  const std::vector<double> capped = snr_loss_weights(s, t, 0, 5, like).to_vector<double>();
  CHECK(capped[0] < 1e-3);  // t = 0: SNR ~ 1e4, so the weight is ~ 5e-4
  CHECK(capped[3] == 1.0);  // SNR < 5 from about t = 130 on: unweighted
  CHECK(capped[5] == 1.0);
  const std::vector<double> floored = snr_loss_weights(s, t, 0.05, 0, like).to_vector<double>();
  CHECK(floored[1] == 1.0);    // SNR above the floor: unweighted
  CHECK(floored[5] > 1000.0);  // t = 999: SNR ~ 4e-5, the x0 error keeps weight 0.05
  // The weighted loss: mean of w_b (pred - target)^2 over every element, differentiable.
  const Tensor pred = from_vector<double>({1, 2, 3, 4}, {2, 2}, DType::f64);
  const Tensor target = from_vector<double>({0, 2, 5, 3}, {2, 2}, DType::f64);
  const Tensor two = from_vector<double>({0.5, 2.0}, {2, 1}, DType::f64);
  CHECK(epsilon_mse_loss(pred, target, two).item<double>() ==
        doctest::Approx((0.5 * 1 + 2.0 * (4 + 1)) / 4.0));
  ops::Generator gen{4};
  const GradcheckResult r = gradcheck(
      [&](const std::vector<Tensor>& in) {
        return epsilon_mse_loss(in[0], like + 0.25, snr_loss_weights(s, t, 0.1, 2.0, like));
      },
      {randn({6, 2, 3}, DType::f64, &gen).set_requires_grad()});
  CHECK_MESSAGE(r.ok, r.message);
  // Bad weights and bounds name the problem.
  CHECK_THROWS_WITH_AS(epsilon_mse_loss(pred, target, from_vector<double>({1, 1}, {2}, DType::f64)),
                       doctest::Contains("weights must be [B, 1, ..., 1]"), Error);
  CHECK_THROWS_WITH_AS(snr_loss_weights(s, t, -1.0, 0.0, like),
                       doctest::Contains("need 0 <= floor <= gamma"), Error);
  CHECK_THROWS_WITH_AS(snr_loss_weights(s, t, 2.0, 1.0, like),
                       doctest::Contains("floor 2 and gamma 1"), Error);
}

TEST_CASE("sample_timesteps draws uniform int64 timesteps in [0, T)") {
  const NoiseSchedule s = NoiseSchedule::linear(10);
  ops::Generator gen{5};
  const Tensor t = sample_timesteps(20000, s, &gen);
  CHECK(t.dtype() == DType::i64);
  CHECK(t.shape() == Dims({20000}));
  std::vector<int> counts(10, 0);
  for (int64_t v : t.to_vector<int64_t>()) {
    REQUIRE(v >= 0);
    REQUIRE(v < 10);
    ++counts[static_cast<size_t>(v)];
  }
  // Each bin: 2000 expected, binomial sd ~42; 5 sd.
  for (int c : counts) CHECK(std::abs(c - 2000) < 212);
  ops::Generator again{5};
  CHECK(max_abs_diff(to(t, DType::f64), to(sample_timesteps(20000, s, &again), DType::f64)) == 0);
  // Usable directly as q_sample's t.
  CHECK(q_sample(s, zeros({20000, 2}), t, zeros({20000, 2})).shape() == Dims({20000, 2}));
}

TEST_CASE("sample_timesteps_logit_normal: t / T is logit-normal, in [0, T), seeded") {
  const NoiseSchedule s = NoiseSchedule::linear(1000);
  const double mean = -0.8, std = 1.0;
  ops::Generator gen{7};
  const Tensor t = sample_timesteps_logit_normal(20000, s, mean, std, &gen);
  CHECK(t.dtype() == DType::i64);
  CHECK(t.shape() == Dims({20000}));
  // The fractions below the quantiles sigmoid(mean + z std) for z = -1, 0, 1 are Phi(z):
  // 0.159, 0.5, 0.841 (binomial sd <= 0.0036; the tolerance is 5 sd).
  const double z_values[3] = {-1.0, 0.0, 1.0}, expected[3] = {0.1587, 0.5, 0.8413};
  const std::vector<int64_t> values = t.to_vector<int64_t>();
  REQUIRE(*std::min_element(values.begin(), values.end()) >= 0);
  REQUIRE(*std::max_element(values.begin(), values.end()) < 1000);
  for (int k = 0; k < 3; ++k) {
    const double bound = 1000.0 / (1.0 + std::exp(-(mean + z_values[k] * std)));
    const auto below = std::count_if(values.begin(), values.end(),
                                     [bound](int64_t v) { return double(v) < bound; });
    CHECK(std::abs(double(below) / 20000.0 - expected[k]) < 0.018);
  }
  ops::Generator again{7};
  CHECK(max_abs_diff(to(t, DType::f64),
                     to(sample_timesteps_logit_normal(20000, s, mean, std, &again), DType::f64)) ==
        0);
  // A very wide density still lands inside [0, T) at both ends.
  const std::vector<int64_t> wide =
      sample_timesteps_logit_normal(5000, s, 0.0, 30.0, &gen).to_vector<int64_t>();
  CHECK(*std::min_element(wide.begin(), wide.end()) == 0);
  CHECK(*std::max_element(wide.begin(), wide.end()) == 999);
  CHECK_THROWS_WITH_AS(sample_timesteps_logit_normal(4, s, 0.0, 0.0), doctest::Contains("std > 0"),
                       Error);
  CHECK_THROWS_AS(sample_timesteps_logit_normal(-1, s, 0.0, 1.0), Error);
}

TEST_CASE("classifier-free guidance: uncond + scale (cond - uncond), two-call and batched") {
  const NoisePredictor cond = [](const Tensor& x, int64_t t) {
    return x * 2.0 + static_cast<double>(t);
  };
  const NoisePredictor uncond = [](const Tensor& x, int64_t) { return x * -1.0; };
  const Tensor x = from_vector<double>({1, -2, 3, 0.5}, {2, 2}, DType::f64);
  for (double scale : {0.0, 1.0, 7.5}) {
    CAPTURE(scale);
    // By hand: uncond = -x, cond = 2x + t.
    const Tensor want = -1.0 * x + scale * (3.0 * x + 4.0);
    CHECK(max_abs_diff(classifier_free_guidance(cond, uncond, scale)(x, 4), want) < 1e-14);
    // The batched form: the model sees [x; x] and returns [uncond; cond].
    int calls = 0;
    const NoisePredictor doubled = [&](const Tensor& xx, int64_t t) {
      ++calls;
      REQUIRE(xx.shape() == Dims({4, 2}));
      return cat({uncond(narrow(xx, 0, 0, 2), t), cond(narrow(xx, 0, 2, 2), t)}, 0);
    };
    CHECK(max_abs_diff(classifier_free_guidance_batched(doubled, scale)(x, 4), want) < 1e-14);
    CHECK(calls == 1);
  }
  // Scale 1 needs no unconditional pass.
  int uncond_calls = 0;
  const NoisePredictor counting = [&](const Tensor& x2, int64_t) {
    ++uncond_calls;
    return x2;
  };
  classifier_free_guidance(cond, counting, 1.0)(x, 0);
  CHECK(uncond_calls == 0);
  const NoisePredictor bad = [](const Tensor& xx, int64_t) { return xx; };  // [B], not [2B]
  CHECK_THROWS_WITH_AS(
      classifier_free_guidance_batched(
          [&](const Tensor& xx, int64_t t) { return narrow(bad(xx, t), 0, 0, 2); }, 2.0)(x, 0),
      doctest::Contains("must return [2B, ...]"), Error);
  CHECK_THROWS_AS(classifier_free_guidance(cond, NoisePredictor(), 2.0), Error);
  CHECK_THROWS_AS(apply_guidance(x, zeros({3}, DType::f64), 2.0), Error);
}

TEST_CASE("forward process rejects bad timesteps and shapes with clear errors") {
  const NoiseSchedule s = NoiseSchedule::linear();
  const Tensor x = zeros({2, 3}, DType::f64);
  const Tensor t = from_vector<int64_t>({1, 2}, {2}, DType::i64);
  CHECK_THROWS_WITH_AS(q_sample(s, x, from_vector<int64_t>({1, 1000}, {2}, DType::i64), x),
                       doctest::Contains("timestep 1000 is outside [0, 1000)"), Error);
  CHECK_THROWS_WITH_AS(q_sample(s, x, from_vector<int64_t>({1, 2, 3}, {3}, DType::i64), x),
                       doctest::Contains("must be [B] = [2]"), Error);
  CHECK_THROWS_WITH_AS(q_sample(s, x, zeros({2}), x),
                       doctest::Contains("must be an integer tensor, got f32"), Error);
  CHECK_THROWS_WITH_AS(q_sample(s, x, t, zeros({3, 2}, DType::f64)),
                       doctest::Contains("must have the same shape"), Error);
  CHECK_THROWS_AS(q_sample(s, zeros({2, 3}, DType::i64), t, x), Error);
  CHECK_THROWS_AS(v_target(s, x, t, zeros({2}, DType::f64)), Error);
  CHECK_THROWS_AS(epsilon_target(s, x, from_vector<int64_t>({-1, 0}, {2}, DType::i64), x), Error);
  CHECK_THROWS_AS(predict_x0_from_eps(s, x, 1000, x), Error);
  CHECK_THROWS_AS(epsilon_mse_loss(x, zeros({3, 2}, DType::f64)), Error);
  CHECK_THROWS_AS(sample_timesteps(-1, s), Error);
}
