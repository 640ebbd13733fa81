// Diffusion process: schedules (float64 values against closed forms and diffusers' numbers).
#include <doctest/doctest.h>

#include <cmath>

#include "diffusion/schedule.h"
#include "tensor/error.h"
#include "tensor/ops.h"

using trip::diffusion::NoiseSchedule;

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
