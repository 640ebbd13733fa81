// defines: the forward (noising) process and the training targets and loss of DDPM (Ho et al.
// 2020), generic over sample shapes [B, ...] with one timestep per sample: q_sample, the epsilon
// and v targets, x0 / eps conversions, epsilon_mse_loss and sample_timesteps. Every function is
// built from the differentiable ops of autograd/functions.h, so a loss made from them trains.
#pragma once
#include <cstdint>

#include "diffusion/schedule.h"
#include "tensor/ops.h"
#include "tensor/tensor.h"

namespace trip::diffusion {

// In all functions below t is an integer tensor [B] (one timestep per sample, B = x.size(0),
// any device); the schedule's alpha_bar_t is broadcast over the other dims of the sample. Values
// of t outside [0, T) throw naming the value.

// x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) noise (DDPM eq. (4), reparametrised as in Alg. 1).
// Differentiable in x0 and noise.
Tensor q_sample(const NoiseSchedule& schedule, const Tensor& x0, const Tensor& t,
                const Tensor& noise);

// The epsilon-prediction target: the noise itself (DDPM eq. (14)). Takes the same arguments as
// v_target so a trainer can switch targets; only checks the shapes.
Tensor epsilon_target(const NoiseSchedule& schedule, const Tensor& x0, const Tensor& t,
                      const Tensor& noise);
// The v-prediction target v = sqrt(ab_t) eps - sqrt(1 - ab_t) x0 (Salimans & Ho 2022, sec. 4;
// diffusers' get_velocity).
Tensor v_target(const NoiseSchedule& schedule, const Tensor& x0, const Tensor& t,
                const Tensor& noise);

// x0 = (x_t - sqrt(1 - ab_t) eps) / sqrt(ab_t), the inverse of q_sample for a known noise
// (DDPM eq. (15); DDIM eq. (9)'s "predicted x0").
Tensor predict_x0_from_eps(const NoiseSchedule& schedule, const Tensor& x_t, const Tensor& t,
                           const Tensor& eps);
// eps = (x_t - sqrt(ab_t) x0) / sqrt(1 - ab_t), the noise that turns x0 into x_t.
Tensor predict_eps_from_x0(const NoiseSchedule& schedule, const Tensor& x_t, const Tensor& t,
                           const Tensor& x0);
// The same two with one timestep for the whole batch (the sampling-time form).
Tensor predict_x0_from_eps(const NoiseSchedule& schedule, const Tensor& x_t, int64_t t,
                           const Tensor& eps);
Tensor predict_eps_from_x0(const NoiseSchedule& schedule, const Tensor& x_t, int64_t t,
                           const Tensor& x0);

// Mean squared error over every element, mean((pred - target)^2) (DDPM eq. (14), "L_simple").
// Shapes must be equal; differentiable in both.
Tensor epsilon_mse_loss(const Tensor& pred, const Tensor& target);

// B timesteps drawn uniformly from [0, T) as an int64 tensor [B] on `device` (DDPM Alg. 1).
Tensor sample_timesteps(int64_t batch, const NoiseSchedule& schedule, ops::Generator* gen = nullptr,
                        Device device = kCPU);

// alpha_bar_t of each sample as a tensor [B, 1, ..., 1] that broadcasts against `like` [B, ...]
// in like's dtype and on its device, after checking that t is an integer tensor [B].
Tensor alpha_bar_per_sample(const NoiseSchedule& schedule, const Tensor& t, const Tensor& like,
                            const char* op);

}  // namespace trip::diffusion
