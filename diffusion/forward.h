// defines: the forward (noising) process and the training targets and loss of DDPM (Ho et al.
// 2020), generic over sample shapes [B, ...] with one timestep per sample: q_sample, the epsilon
// and v targets, x0 / eps conversions, epsilon_mse_loss (optionally min-SNR weighted) and
// sample_timesteps. Every function is built from the differentiable ops of autograd/functions.h, so
// a loss made from them trains.
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
// eps = sqrt(1 - ab_t) x_t + sqrt(ab_t) v, the noise of a v-prediction (v_target inverted with
// q_sample): the output error enters scaled by sqrt(ab_t) <= 1 at every t, where
// predict_eps_from_x0 scales it by sqrt(SNR_t) (up to 100x near t = 0).
Tensor predict_eps_from_v(const NoiseSchedule& schedule, const Tensor& x_t, const Tensor& t,
                          const Tensor& v);
// The same two with one timestep for the whole batch (the sampling-time form).
Tensor predict_x0_from_eps(const NoiseSchedule& schedule, const Tensor& x_t, int64_t t,
                           const Tensor& eps);
Tensor predict_eps_from_x0(const NoiseSchedule& schedule, const Tensor& x_t, int64_t t,
                           const Tensor& x0);

// Mean squared error over every element, mean((pred - target)^2) (DDPM eq. (14), "L_simple").
// Shapes must be equal; differentiable in both.
Tensor epsilon_mse_loss(const Tensor& pred, const Tensor& target);
// The same with one weight per sample: mean(w_b * (pred - target)^2), weights [B, 1, ..., 1]
// (as min_snr_weights returns them) broadcast over each sample.
Tensor epsilon_mse_loss(const Tensor& pred, const Tensor& target, const Tensor& weights);

// Per-sample weights of the epsilon loss that give it the x0-space weight clamp(SNR_t, floor,
// gamma) instead of SNR_t (||eps - eps_hat||^2 = SNR_t ||x0 - x0_hat||^2, SNR_t = ab_t/(1-ab_t)):
// w_t = clamp(SNR_t, floor, gamma) / SNR_t, each bound off when 0.
// - gamma: min-SNR-gamma (Hang et al. 2023, eq. (8); diffusers' --snr_gamma). The nearly clean
//   steps, whose epsilon errors are large numbers but tiny changes of the image, stop dominating.
// - floor: the x0 error of the noisiest steps keeps at least weight `floor` (floor = 1 is the
//   "truncated SNR" weighting of Salimans & Ho 2022, eq. (9) ff.), so what is decided there, the
//   layout and, for TRIP, the motion of the later frames, is learned and not left at ~SNR ~ 0.
// Needs 0 <= floor <= gamma when both are set. Returns [B, 1, ..., 1] in like's dtype, on its
// device.
Tensor snr_loss_weights(const NoiseSchedule& schedule, const Tensor& t, double floor, double gamma,
                        const Tensor& like);

// The two bounds as a training option (0: off; both off is the plain DDPM loss).
struct SnrWeighting {
  double floor = 0, gamma = 0;
  bool enabled() const { return floor > 0 || gamma > 0; }
};

// B timesteps drawn uniformly from [0, T) as an int64 tensor [B] on `device` (DDPM Alg. 1).
Tensor sample_timesteps(int64_t batch, const NoiseSchedule& schedule, ops::Generator* gen = nullptr,
                        Device device = kCPU);
// B timesteps with t / T logit-normal: floor(T * sigmoid(mean + std * n)), n ~ N(0, 1) (the
// timestep density of Esser et al. 2024, SD3). It spends the batch on the middle of the schedule,
// where the layout and, for TRIP, the motion of a clip is decided, instead of on t near T (pure
// noise: for TRIP the prior is already the answer there) and t near 0 (fine detail). Needs
// std > 0. int64 [B] on `device`.
Tensor sample_timesteps_logit_normal(int64_t batch, const NoiseSchedule& schedule, double mean,
                                     double std, ops::Generator* gen = nullptr,
                                     Device device = kCPU);

// alpha_bar_t of each sample as a tensor [B, 1, ..., 1] that broadcasts against `like` [B, ...]
// in like's dtype and on its device, after checking that t is an integer tensor [B].
Tensor alpha_bar_per_sample(const NoiseSchedule& schedule, const Tensor& t, const Tensor& like,
                            const char* op);

}  // namespace trip::diffusion
