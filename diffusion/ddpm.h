// defines: DDPM ancestral sampling (Ho et al. 2020, Alg. 2) with diffusers' DDPMScheduler
// semantics: DdpmOptions, ddpm_step and ddpm_sample.
#pragma once
#include <cstdint>
#include <optional>

#include "diffusion/sampler.h"
#include "diffusion/schedule.h"
#include "diffusion/timesteps.h"
#include "tensor/ops.h"

namespace trip::diffusion {

enum class DdpmVariance {
  fixed_small,  // the posterior variance beta~_t = (1 - ab_prev) / (1 - ab_t) beta_t (eq. (7))
  fixed_large,  // beta_t
};

struct DdpmOptions {
  int64_t steps = 0;  // 0: every training timestep (T steps); else 1..T, strided like DDIM
  TimestepSpacing spacing = TimestepSpacing::leading;
  int64_t steps_offset = 0;
  DdpmVariance variance = DdpmVariance::fixed_small;
  std::optional<double> clip_sample;  // clip the predicted x0 to [-r, r]; none by default
  PredictionType prediction = PredictionType::epsilon;
};

// One ancestral step from x_t at t to t_prev (t_prev < 0: the end, ab_prev = 1), via the
// posterior q(x_prev | x_t, x0^) (DDPM eqs. (6), (7)):
//   beta_t = 1 - ab_t / ab_prev
//   mean   = sqrt(ab_prev) beta_t / (1 - ab_t) x0^ + sqrt(ab_t / ab_prev) (1 - ab_prev) /
//            (1 - ab_t) x_t
//   x_prev = mean + sigma_t z   for t > 0 (no noise at t = 0, as diffusers)
// with sigma_t^2 = max(beta~_t, 1e-20) (fixed_small) or beta_t (fixed_large). z is `noise` when
// given, else drawn from `gen` (default generator when null). Built from differentiable ops.
StepResult ddpm_step(const NoiseSchedule& schedule, const Tensor& model_output, int64_t t,
                     int64_t t_prev, const Tensor& x_t, const DdpmOptions& options = {},
                     const Tensor& noise = Tensor(), ops::Generator* gen = nullptr);

// The whole chain from x_T under no-grad; with steps = 0 or T it is DDPM's Alg. 2.
Tensor ddpm_sample(const NoiseSchedule& schedule, const NoisePredictor& model, const Tensor& x_T,
                   const DdpmOptions& options = {}, ops::Generator* gen = nullptr,
                   const ProgressCallback& progress = {});
// The same from x_T ~ N(0, I) of `shape` drawn from `gen`.
Tensor ddpm_sample(const NoiseSchedule& schedule, const NoisePredictor& model, const Dims& shape,
                   TensorOptions tensor_options, ops::Generator* gen,
                   const DdpmOptions& options = {}, const ProgressCallback& progress = {});

}  // namespace trip::diffusion
