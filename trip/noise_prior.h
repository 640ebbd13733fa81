// defines: image_noise_prior, TRIP's shortcut path (TRIP.md section 2, the paper's eq. (5)): the
// noise that would turn the given first frame into each noisy frame in one step.
#pragma once
#include "diffusion/schedule.h"
#include "tensor/tensor.h"

namespace trip {

// eps_t^{i->1} = (z_t^i - sqrt(alpha_bar_t) z_0^1) / sqrt(1 - alpha_bar_t) for every frame i.
// z_t [B, C, F, H, W]; z0_first [B, C, H, W] (the clean first-frame latent); alpha_bar [B] (one
// t per clip, any floating dtype). Differentiable in z_t and z0_first. Returns [B, C, F, H, W].
Tensor image_noise_prior(const Tensor& z_t, const Tensor& z0_first, const Tensor& alpha_bar);
// The same with the integer timesteps t [B] looked up in `schedule`.
Tensor image_noise_prior(const Tensor& z_t, const Tensor& z0_first, const Tensor& t,
                         const diffusion::NoiseSchedule& schedule);

}  // namespace trip
