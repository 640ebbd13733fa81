#include "diffusion/ddim.h"

#include <algorithm>
#include <cmath>

#include "autograd/functions.h"
#include "tensor/error.h"

namespace trip::diffusion {

namespace {

void check_options(const NoiseSchedule& schedule, const DdimOptions& o, bool sampling) {
  TRIP_CHECK(o.eta >= 0.0 && std::isfinite(o.eta), "ddim: eta must be >= 0, got {}", o.eta);
  TRIP_CHECK(!o.clip_sample || *o.clip_sample > 0.0,
             "ddim: clip_sample must be a positive range r (x0 clipped to [-r, r]), got {}",
             o.clip_sample.value_or(0.0));
  if (sampling) {
    TRIP_CHECK(o.steps >= 1 && o.steps <= schedule.num_steps(),
               "ddim_sample: steps must be in [1, T = {}], got {}", schedule.num_steps(), o.steps);
  }
}

// Where the noise of a stochastic step comes from: given, or drawn like x.
Tensor step_noise(const Tensor& given, const Tensor& x, ops::Generator* gen, const char* op) {
  if (!given.defined()) return ops::randn(x.shape(), TensorOptions(x.dtype(), x.device()), gen);
  TRIP_CHECK(given.shape() == x.shape(), "{}: the noise {} must have the shape of x_t {}", op,
             given.shape(), x.shape());
  return given;
}

}  // namespace

StepResult ddim_step(const NoiseSchedule& schedule, const Tensor& model_output, int64_t t,
                     int64_t t_prev, const Tensor& x_t, const DdimOptions& options,
                     const Tensor& variance_noise, ops::Generator* gen) {
  check_options(schedule, options, false);
  TRIP_CHECK(t >= 0 && t < schedule.num_steps(), "ddim_step: timestep t = {} is outside [0, {})", t,
             schedule.num_steps());
  TRIP_CHECK(t_prev < t, "ddim_step: t_prev = {} must be below t = {}", t_prev, t);
  const double ab_t = schedule.alpha_bar(t);
  const double ab_prev = t_prev >= 0                ? schedule.alpha_bar(t_prev)
                         : options.set_alpha_to_one ? 1.0
                                                    : schedule.alpha_bar(0);
  auto [x0, eps] = model_output_to_x0_eps(options.prediction, model_output, x_t, ab_t, "ddim_step");
  if (options.clip_sample) x0 = clamp(x0, -*options.clip_sample, *options.clip_sample);
  // DDIM eq. (16): sigma_t(eta); eta = 1 gives DDPM's posterior standard deviation.
  const double variance = (1.0 - ab_prev) / (1.0 - ab_t) * (1.0 - ab_t / ab_prev);
  const double sigma = options.eta * std::sqrt(variance);
  if (options.use_clipped_model_output) {
    eps = (x_t - std::sqrt(ab_t) * x0) * (1.0 / std::sqrt(1.0 - ab_t));
  }
  // The "direction pointing to x_t" keeps 1 - ab_prev - sigma^2 of the variance; eta > 1 can
  // make it negative, which has no meaning (diffusers returns NaN there).
  const double direction_variance = 1.0 - ab_prev - sigma * sigma;
  TRIP_CHECK(direction_variance >= -1e-12,
             "ddim_step: eta = {} is too large at t = {} -> {} (1 - ab_prev - sigma^2 = {} < 0)",
             options.eta, t, t_prev, direction_variance);
  Tensor prev = std::sqrt(ab_prev) * x0 + std::sqrt(std::max(direction_variance, 0.0)) * eps;
  if (options.eta > 0.0) prev = prev + sigma * step_noise(variance_noise, x_t, gen, "ddim_step");
  return {prev, x0};
}

Tensor ddim_sample(const NoiseSchedule& schedule, const NoisePredictor& model, const Tensor& x_T,
                   const DdimOptions& options, ops::Generator* gen,
                   const ProgressCallback& progress) {
  check_options(schedule, options, true);
  TRIP_CHECK(model != nullptr, "ddim_sample: no noise predictor given");
  TRIP_CHECK(x_T.defined() && is_floating(x_T.dtype()) && x_T.dim() >= 1,
             "ddim_sample: x_T must be a floating tensor [B, ...]");
  const NoGradGuard no_grad;
  const int64_t T = schedule.num_steps();
  const std::vector<int64_t> timesteps =
      ddim_timesteps(T, options.steps, options.spacing, options.steps_offset);
  Tensor x = x_T;
  const int total = static_cast<int>(timesteps.size());
  for (int i = 0; i < total; ++i) {
    const int64_t t = timesteps[static_cast<size_t>(i)];
    const Tensor out = model(x, t);
    x = ddim_step(schedule, out, t, previous_timestep(T, options.steps, t), x, options, Tensor(),
                  gen)
            .prev_sample;
    if (progress) progress(i + 1, total);
  }
  return x;
}

Tensor ddim_sample(const NoiseSchedule& schedule, const NoisePredictor& model, const Dims& shape,
                   TensorOptions tensor_options, ops::Generator* gen, const DdimOptions& options,
                   const ProgressCallback& progress) {
  TRIP_CHECK(is_floating(tensor_options.dtype),
             "ddim_sample: the sample dtype must be floating, "
             "got {}",
             tensor_options.dtype);
  return ddim_sample(schedule, model, ops::randn(shape, tensor_options, gen), options, gen,
                     progress);
}

}  // namespace trip::diffusion
