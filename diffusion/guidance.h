// defines: classifier-free guidance (Ho & Salimans 2022, eq. (6)) as wrappers that turn
// predictors into one guided NoisePredictor.
#pragma once
#include "diffusion/sampler.h"

namespace trip::diffusion {

// eps = uncond + scale (cond - uncond). scale 1 is the conditional model alone (uncond is then
// not called), scale 0 the unconditional one.
Tensor apply_guidance(const Tensor& cond, const Tensor& uncond, double scale);

// A predictor that calls both predictors on x_t and combines them with apply_guidance.
NoisePredictor classifier_free_guidance(NoisePredictor cond, NoisePredictor uncond, double scale);

// One call on a doubled batch: `doubled` receives cat([x_t, x_t], 0) and must return [2B, ...]
// whose first half is the unconditional prediction and second half the conditional one (the
// order of diffusers' pipelines), so a model can do both passes in one batch.
NoisePredictor classifier_free_guidance_batched(NoisePredictor doubled, double scale);

}  // namespace trip::diffusion
