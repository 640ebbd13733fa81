// Diffusion against diffusers 0.31 (tests/diffusion_reference.h, made by
// scripts/reference_diffusion.py): inference timesteps, schedules, single DDIM/DDPM steps, a
// whole DDIM trajectory, add_noise and get_velocity.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>

#include "autograd/functions.h"
#include "diffusion/ddim.h"
#include "diffusion/ddpm.h"
#include "diffusion/forward.h"
#include "diffusion/schedule.h"
#include "diffusion/timesteps.h"
#include "tests/diffusion_reference.h"
#include "tests/test_compare.h"

using namespace trip;
using namespace trip::diffusion;
namespace ref = diffusion_reference;

namespace {

// The fixed [2, 3, 4] inputs of the reference script, from closed formulas of the flat index.
Tensor formula(const std::function<double(double)>& fn) {
  std::vector<double> v(24);
  for (size_t i = 0; i < v.size(); ++i) v[i] = fn(static_cast<double>(i));
  return from_vector(v, {2, 3, 4}, DType::f64);
}
Tensor x_t_input() {
  return formula([](double i) { return 1.3 * std::sin(0.37 * i + 0.1); });
}
Tensor model_output_input() {
  return formula([](double i) { return std::cos(0.23 * i - 0.4); });
}
Tensor variance_noise_input() {
  return formula([](double i) { return std::sin(0.91 * i + 0.5); });
}

void check_close(const Tensor& got, const std::vector<double>& expected, double tol) {
  const std::vector<double> g = to(got, DType::f64).to_vector<double>();
  REQUIRE(g.size() == expected.size());
  double worst = 0;
  for (size_t i = 0; i < g.size(); ++i) worst = test::worse(worst, std::abs(g[i] - expected[i]));
  CHECK(worst <= tol);
}

}  // namespace

TEST_CASE("ddim_timesteps equal diffusers' for leading, trailing and linspace spacing") {
  for (const auto& c : ref::timestep_cases) {
    const std::string spacing = c.spacing;
    CAPTURE(spacing);
    CAPTURE(c.steps);
    CAPTURE(c.steps_offset);
    const std::vector<int64_t> got =
        ddim_timesteps(1000, c.steps, timestep_spacing_from_name(c.spacing), c.steps_offset);
    CHECK(got == c.timesteps);
  }
  // The numbers themselves for the usual 50 of 1000 steps.
  std::vector<int64_t> leading, trailing;
  for (int64_t t = 980; t >= 0; t -= 20) leading.push_back(t);
  for (int64_t t = 999; t >= 19; t -= 20) trailing.push_back(t);
  CHECK(ddim_timesteps(1000, 50, TimestepSpacing::leading) == leading);
  CHECK(ddim_timesteps(1000, 50, TimestepSpacing::trailing) == trailing);
  CHECK(ddim_timesteps(1000, 10, TimestepSpacing::trailing) ==
        std::vector<int64_t>{999, 899, 799, 699, 599, 499, 399, 299, 199, 99});
  // numpy rounds halves to even: trailing 16 hits 937.5 -> 938 and 812.5 -> 812.
  const std::vector<int64_t> t16 = ddim_timesteps(1000, 16, TimestepSpacing::trailing);
  CHECK(t16[1] == 937);
  CHECK(t16[3] == 811);
  // Where diffusers' trailing list gets a 62nd entry, -1, we keep the 61 valid ones.
  const std::vector<int64_t> t61 = ddim_timesteps(1000, 61, TimestepSpacing::trailing);
  CHECK(t61.size() == 61);
  CHECK(std::vector<int64_t>(t61.end() - 3, t61.end()) == std::vector<int64_t>{48, 32, 15});
  for (TimestepSpacing s :
       {TimestepSpacing::leading, TimestepSpacing::trailing, TimestepSpacing::linspace}) {
    for (int64_t steps = 1; steps <= 1000; steps += 7) {
      const std::vector<int64_t> ts = ddim_timesteps(1000, steps, s);
      REQUIRE(ts.size() == static_cast<size_t>(steps));
      for (size_t i = 1; i < ts.size(); ++i) REQUIRE(ts[i] < ts[i - 1]);
      REQUIRE(ts.front() < 1000);
      REQUIRE(ts.back() >= 0);
    }
  }
}

TEST_CASE("schedules equal diffusers' float32 betas and alphas_cumprod") {
  for (const auto& c : ref::schedule_cases) {
    CAPTURE(c.name);
    const NoiseSchedule s = NoiseSchedule::from_name(c.name);
    for (size_t k = 0; k < ref::schedule_indices.size(); ++k) {
      const auto i = static_cast<size_t>(ref::schedule_indices[k]);
      CAPTURE(i);
      // diffusers rounds betas to float32 and multiplies in float32: relative 1e-6 and a
      // slowly growing product error (1e-5 relative at t = 999 is ~2^-17 over 1000 products).
      CHECK(s.betas()[i] == doctest::Approx(c.betas[k]).epsilon(1e-6));
      CHECK(s.alphas_cumprod()[i] == doctest::Approx(c.alphas_cumprod[k]).epsilon(2e-5));
    }
  }
  // The cosine schedule's last beta is clipped at max_beta = 0.999.
  CHECK(NoiseSchedule::cosine().betas().back() == 0.999);
}

TEST_CASE("one DDIM step equals diffusers' DDIMScheduler.step") {
  for (const auto& c : ref::ddim_step_cases) {
    const std::string schedule = c.schedule;
    CAPTURE(schedule);
    const std::string prediction = c.prediction;
    CAPTURE(prediction);
    CAPTURE(c.t);
    CAPTURE(c.eta);
    const NoiseSchedule s = NoiseSchedule::from_name(c.schedule);
    DdimOptions o;
    o.steps = c.steps;
    o.eta = c.eta;
    o.set_alpha_to_one = c.set_alpha_to_one;
    o.use_clipped_model_output = c.use_clipped_model_output;
    if (c.clip > 0) o.clip_sample = c.clip;
    o.prediction = prediction_type_from_name(c.prediction);
    const StepResult r =
        ddim_step(s, model_output_input(), c.t, previous_timestep(1000, c.steps, c.t), x_t_input(),
                  o, variance_noise_input());
    check_close(r.prev_sample, c.prev_sample, 1e-12);
    check_close(r.pred_x0, c.pred_x0, 1e-12);
  }
}

TEST_CASE("one DDPM step equals diffusers' DDPMScheduler.step with the same noise") {
  for (const auto& c : ref::ddpm_step_cases) {
    const std::string schedule = c.schedule;
    CAPTURE(schedule);
    const std::string variance = c.variance;
    CAPTURE(variance);
    CAPTURE(c.t);
    const NoiseSchedule s = NoiseSchedule::from_name(c.schedule);
    DdpmOptions o;
    o.steps = c.steps;
    o.variance = std::string(c.variance) == "fixed_small" ? DdpmVariance::fixed_small
                                                          : DdpmVariance::fixed_large;
    if (c.clip > 0) o.clip_sample = c.clip;
    o.prediction = prediction_type_from_name(c.prediction);
    // At t = 0 diffusers adds no noise; any noise passed must then be ignored.
    const Tensor noise =
        c.noise.empty() ? variance_noise_input() : from_vector(c.noise, {2, 3, 4}, DType::f64);
    const StepResult r = ddpm_step(s, model_output_input(), c.t,
                                   previous_timestep(1000, c.steps, c.t), x_t_input(), o, noise);
    check_close(r.prev_sample, c.prev_sample, 1e-12);
    check_close(r.pred_x0, c.pred_x0, 1e-12);
  }
}

TEST_CASE("a whole DDIM trajectory equals diffusers' loop (timesteps and t - T/steps rule)") {
  const NoiseSchedule s = NoiseSchedule::linear();
  const NoisePredictor model = [](const Tensor& x, int64_t t) {
    return 0.3 * x + 0.1 * std::sin(0.01 * static_cast<double>(t));
  };
  for (const auto& c : ref::ddim_trajectory_cases) {
    const std::string spacing = c.spacing;
    CAPTURE(spacing);
    CAPTURE(c.steps);
    DdimOptions o;
    o.steps = c.steps;
    o.spacing = timestep_spacing_from_name(c.spacing);
    o.steps_offset = c.steps_offset;
    int calls = 0;
    const Tensor x0 = ddim_sample(s, model, x_t_input(), o, nullptr, [&](int step, int total) {
      ++calls;
      CHECK(step == calls);
      CHECK(total == c.steps);
    });
    CHECK(calls == c.steps);
    // The model amplifies x by up to 1/sqrt(ab) ~ 150 at the first step; 1e-9 relative is
    // still far below any formula difference.
    double scale = 0;
    for (double v : c.final_sample) scale = std::max(scale, std::abs(v));
    check_close(x0, c.final_sample, 1e-10 * std::max(1.0, scale));
  }
}

TEST_CASE("q_sample and v_target equal diffusers' add_noise and get_velocity") {
  const NoiseSchedule s = NoiseSchedule::linear();
  const Tensor x0 = formula([](double i) { return std::sin(0.5 * i); });
  const Tensor noise = formula([](double i) { return std::cos(0.7 * i + 0.2); });
  const Tensor t = from_vector<int64_t>({10, 700}, {2}, DType::i64);
  check_close(q_sample(s, x0, t, noise), ref::add_noise_expected, 1e-13);
  check_close(v_target(s, x0, t, noise), ref::velocity_expected, 1e-13);
}
