#include "diffusion/ddpm.h"

#include <algorithm>
#include <cmath>

#include "autograd/functions.h"
#include "tensor/error.h"

namespace trip::diffusion {

namespace {

int64_t resolved_steps(const NoiseSchedule& schedule, const DdpmOptions& o) {
  const int64_t steps = o.steps == 0 ? schedule.num_steps() : o.steps;
  TRIP_CHECK(steps >= 1 && steps <= schedule.num_steps(),
             "ddpm_sample: steps must be 0 (all) or in [1, T = {}], got {}", schedule.num_steps(),
             o.steps);
  return steps;
}

}  // namespace

StepResult ddpm_step(const NoiseSchedule& schedule, const Tensor& model_output, int64_t t,
                     int64_t t_prev, const Tensor& x_t, const DdpmOptions& options,
                     const Tensor& noise, ops::Generator* gen) {
  TRIP_CHECK(t >= 0 && t < schedule.num_steps(), "ddpm_step: timestep t = {} is outside [0, {})", t,
             schedule.num_steps());
  TRIP_CHECK(t_prev < t, "ddpm_step: t_prev = {} must be below t = {}", t_prev, t);
  TRIP_CHECK(!options.clip_sample || *options.clip_sample > 0.0,
             "ddpm_step: clip_sample must be a positive range r, got {}",
             options.clip_sample.value_or(0.0));
  const double ab_t = schedule.alpha_bar(t);
  const double ab_prev = t_prev >= 0 ? schedule.alpha_bar(t_prev) : 1.0;
  // With strided steps, beta_t is the effective beta of the jump t -> t_prev.
  const double alpha = ab_t / ab_prev, beta = 1.0 - alpha;
  auto [x0, eps] = model_output_to_x0_eps(options.prediction, model_output, x_t, ab_t, "ddpm_step");
  if (options.clip_sample) x0 = clamp(x0, -*options.clip_sample, *options.clip_sample);
  // Posterior mean mu~(x_t, x0^), DDPM eq. (7).
  const double coef_x0 = std::sqrt(ab_prev) * beta / (1.0 - ab_t);
  const double coef_xt = std::sqrt(alpha) * (1.0 - ab_prev) / (1.0 - ab_t);
  Tensor prev = coef_x0 * x0 + coef_xt * x_t;
  if (t > 0) {
    const double variance = options.variance == DdpmVariance::fixed_small
                                ? std::max((1.0 - ab_prev) / (1.0 - ab_t) * beta, 1e-20)
                                : beta;
    Tensor z = noise;
    if (!z.defined()) {
      z = ops::randn(x_t.shape(), TensorOptions(x_t.dtype(), x_t.device()), gen);
    }
    TRIP_CHECK(z.shape() == x_t.shape(), "ddpm_step: the noise {} must have the shape of x_t {}",
               z.shape(), x_t.shape());
    prev = prev + std::sqrt(variance) * z;
  }
  return {prev, x0};
}

Tensor ddpm_sample(const NoiseSchedule& schedule, const NoisePredictor& model, const Tensor& x_T,
                   const DdpmOptions& options, ops::Generator* gen,
                   const ProgressCallback& progress) {
  const int64_t steps = resolved_steps(schedule, options);
  TRIP_CHECK(model != nullptr, "ddpm_sample: no noise predictor given");
  TRIP_CHECK(x_T.defined() && is_floating(x_T.dtype()) && x_T.dim() >= 1,
             "ddpm_sample: x_T must be a floating tensor [B, ...]");
  const NoGradGuard no_grad;
  const int64_t T = schedule.num_steps();
  const std::vector<int64_t> timesteps =
      ddim_timesteps(T, steps, options.spacing, options.steps_offset);
  Tensor x = x_T;
  const int total = static_cast<int>(timesteps.size());
  for (int i = 0; i < total; ++i) {
    const int64_t t = timesteps[static_cast<size_t>(i)];
    const Tensor out = model(x, t);
    x = ddpm_step(schedule, out, t, previous_timestep(T, steps, t), x, options, Tensor(), gen)
            .prev_sample;
    if (progress) progress(i + 1, total);
  }
  return x;
}

Tensor ddpm_sample(const NoiseSchedule& schedule, const NoisePredictor& model, const Dims& shape,
                   TensorOptions tensor_options, ops::Generator* gen, const DdpmOptions& options,
                   const ProgressCallback& progress) {
  TRIP_CHECK(is_floating(tensor_options.dtype),
             "ddpm_sample: the sample dtype must be floating, got {}", tensor_options.dtype);
  return ddpm_sample(schedule, model, ops::randn(shape, tensor_options, gen), options, gen,
                     progress);
}

}  // namespace trip::diffusion
