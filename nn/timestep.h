// defines: the sinusoidal timestep embedding of diffusers (get_timestep_embedding, the
// Transformer's positional encoding applied to diffusion time), the parameter-free Timesteps
// module wrapping it, and TimestepEmbedding, the MLP on top (`linear_1`, SiLU, `linear_2`).
#pragma once
#include <memory>

#include "nn/activation.h"
#include "nn/linear.h"
#include "nn/module.h"

namespace trip::nn {

// timesteps [N] -> [N, dim]. With half = dim / 2 and k = 0..half-1:
//   freq_k = exp(-ln(max_period) * k / (half - downscale_freq_shift)),  a = scale * t * freq_k,
//   emb = [sin(a), cos(a)]  ([cos, sin] when flip_sin_to_cos); an odd dim gets a zero column.
// Computed in `dtype` (diffusers: float32).
Tensor timestep_embedding(const Tensor& timesteps, int64_t dim, bool flip_sin_to_cos = false,
                          double downscale_freq_shift = 1.0, double scale = 1.0,
                          double max_period = 10000.0, DType dtype = DType::f32);

// diffusers' Timesteps(num_channels, flip_sin_to_cos, downscale_freq_shift); UNet3D uses
// Timesteps(block_out_channels[0], true, 0).
class Timesteps : public Module {
 public:
  Timesteps(int64_t num_channels, bool flip_sin_to_cos, double downscale_freq_shift)
      : Module("Timesteps"),
        num_channels(num_channels),
        flip_sin_to_cos(flip_sin_to_cos),
        downscale_freq_shift(downscale_freq_shift) {}
  Tensor forward(const Tensor& timesteps, DType dtype = DType::f32) const {
    return timestep_embedding(timesteps, num_channels, flip_sin_to_cos, downscale_freq_shift, 1.0,
                              10000.0, dtype);
  }
  std::string extra_repr() const override;
  int64_t num_channels;
  bool flip_sin_to_cos;
  double downscale_freq_shift;
};

// diffusers' TimestepEmbedding(in_channels, time_embed_dim, act_fn="silu", out_dim).
class TimestepEmbedding : public Module {
 public:
  TimestepEmbedding(int64_t in_channels, int64_t time_embed_dim, int64_t out_dim = 0);
  // [N, in_channels] -> [N, out_dim]: linear_2(silu(linear_1(x))).
  Tensor forward(const Tensor& x) const;

  std::shared_ptr<Linear> linear_1;
  std::shared_ptr<SiLU> act;
  std::shared_ptr<Linear> linear_2;
};

}  // namespace trip::nn
