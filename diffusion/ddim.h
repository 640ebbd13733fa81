// defines: the DDIM sampler (Song et al. 2021) with diffusers' DDIMScheduler semantics:
// DdimOptions, ddim_step (one update, exposed for tests and lessons) and ddim_sample.
#pragma once
#include <cstdint>
#include <optional>

#include "diffusion/sampler.h"
#include "diffusion/schedule.h"
#include "diffusion/timesteps.h"
#include "tensor/ops.h"

namespace trip::diffusion {

struct DdimOptions {
  int64_t steps = 50;  // number of model evaluations, 1..T
  double eta = 0.0;    // 0: deterministic DDIM; 1: DDPM-like ancestral noise (DDIM eq. (16))
  TimestepSpacing spacing = TimestepSpacing::leading;
  int64_t steps_offset = 0;           // added to "leading" timesteps (Stable Diffusion uses 1)
  bool set_alpha_to_one = true;       // alpha_bar past the last step: 1 (true) or alpha_bar_0
  std::optional<double> clip_sample;  // clip the predicted x0 to [-r, r]; none by default
  PredictionType prediction = PredictionType::epsilon;
  // Recompute eps from the clipped x0 (diffusers' use_clipped_model_output).
  bool use_clipped_model_output = false;
};

// One DDIM update from x_t at timestep t to t_prev (DDIM eq. (12)):
//   x0^   = (x_t - sqrt(1 - ab_t) eps) / sqrt(ab_t)                    (optionally clipped)
//   sigma = eta sqrt((1 - ab_prev) / (1 - ab_t)) sqrt(1 - ab_t / ab_prev)       (eq. (16))
//   x_prev = sqrt(ab_prev) x0^ + sqrt(1 - ab_prev - sigma^2) eps + sigma z
// t in [0, T), t_prev < t; t_prev < 0 means the end of the chain, where ab_prev is 1 or
// alpha_bar_0 (set_alpha_to_one). The noise z is `variance_noise` when given (same shape as x_t),
// else drawn from `gen` (the default generator when null); it is used only when eta > 0. Built
// from differentiable ops; options.steps is not used here.
StepResult ddim_step(const NoiseSchedule& schedule, const Tensor& model_output, int64_t t,
                     int64_t t_prev, const Tensor& x_t, const DdimOptions& options = {},
                     const Tensor& variance_noise = Tensor(), ops::Generator* gen = nullptr);

// Runs the DDIM chain from x_T over ddim_timesteps(T, steps, spacing, steps_offset), stepping
// from each t to previous_timestep(T, steps, t) as diffusers does, under no-grad. Returns x_0.
Tensor ddim_sample(const NoiseSchedule& schedule, const NoisePredictor& model, const Tensor& x_T,
                   const DdimOptions& options = {}, ops::Generator* gen = nullptr,
                   const ProgressCallback& progress = {});
// The same from x_T ~ N(0, I) of `shape` drawn from `gen` (which then also drives eta's noise).
Tensor ddim_sample(const NoiseSchedule& schedule, const NoisePredictor& model, const Dims& shape,
                   TensorOptions tensor_options, ops::Generator* gen,
                   const DdimOptions& options = {}, const ProgressCallback& progress = {});

}  // namespace trip::diffusion
