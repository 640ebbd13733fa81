#include "diffusion/schedule.h"

#include <cmath>
#include <numbers>

#include "tensor/error.h"
#include "tensor/ops.h"

namespace trip::diffusion {

namespace {

void check_steps(int64_t steps, const char* schedule) {
  TRIP_CHECK(steps >= 1 && steps <= 100000, "{} schedule: steps must be in [1, 100000], got {}",
             schedule, steps);
}

// Evenly spaced values from first to last inclusive (numpy's linspace) in float64.
std::vector<double> spaced(double first, double last, int64_t n) {
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    out[static_cast<size_t>(i)] =
        n == 1 ? first
               : first + (last - first) * static_cast<double>(i) / static_cast<double>(n - 1);
  }
  return out;
}

}  // namespace

NoiseSchedule::NoiseSchedule(std::string name, std::vector<double> betas)
    : name_(std::move(name)), betas_(std::move(betas)) {
  alphas_cumprod_.resize(betas_.size());
  double product = 1.0;
  for (size_t i = 0; i < betas_.size(); ++i) {
    TRIP_CHECK(betas_[i] > 0.0 && betas_[i] < 1.0, "{} schedule: beta[{}] = {} is not in (0, 1)",
               name_, i, betas_[i]);
    product *= 1.0 - betas_[i];
    alphas_cumprod_[i] = product;
  }
}

NoiseSchedule NoiseSchedule::linear(int64_t steps, double beta_start, double beta_end) {
  check_steps(steps, "linear");
  return NoiseSchedule("linear", spaced(beta_start, beta_end, steps));
}

NoiseSchedule NoiseSchedule::scaled_linear(int64_t steps, double beta_start, double beta_end) {
  check_steps(steps, "scaled_linear");
  std::vector<double> betas = spaced(std::sqrt(beta_start), std::sqrt(beta_end), steps);
  for (double& b : betas) b *= b;
  return NoiseSchedule("scaled_linear", std::move(betas));
}

NoiseSchedule NoiseSchedule::cosine(int64_t steps, double s, double max_beta) {
  check_steps(steps, "cosine");
  auto alpha_bar = [&](double x) {
    const double c = std::cos((x + s) / (1.0 + s) * std::numbers::pi / 2.0);
    return c * c;
  };
  std::vector<double> betas(static_cast<size_t>(steps));
  const double T = static_cast<double>(steps);
  for (int64_t i = 0; i < steps; ++i) {
    const double t1 = static_cast<double>(i) / T, t2 = static_cast<double>(i + 1) / T;
    betas[static_cast<size_t>(i)] = std::min(1.0 - alpha_bar(t2) / alpha_bar(t1), max_beta);
  }
  return NoiseSchedule("cosine", std::move(betas));
}

NoiseSchedule NoiseSchedule::from_name(std::string_view name, int64_t steps) {
  if (name == "linear") return linear(steps);
  if (name == "scaled_linear") return scaled_linear(steps);
  if (name == "cosine") return cosine(steps);
  fail("unknown noise schedule '{}' (expected linear, scaled_linear or cosine)", name);
}

double NoiseSchedule::alpha_bar(int64_t t) const {
  TRIP_CHECK(t >= 0 && t < num_steps(), "{} schedule: timestep {} is outside [0, {})", name_, t,
             num_steps());
  return alphas_cumprod_[static_cast<size_t>(t)];
}

Tensor NoiseSchedule::alpha_bar_at(const Tensor& t, DType dtype) const {
  TRIP_CHECK(!is_floating(t.dtype()), "alpha_bar_at: timesteps must be an integer tensor, got {}",
             dtype_name(t.dtype()));
  const std::vector<int64_t> steps = ops::to(ops::to(t, kCPU), DType::i64).to_vector<int64_t>();
  std::vector<double> values(steps.size());
  for (size_t i = 0; i < steps.size(); ++i) values[i] = alpha_bar(steps[i]);
  return ops::to(ops::to(from_vector(values, t.shape(), DType::f64), dtype), t.device());
}

}  // namespace trip::diffusion
