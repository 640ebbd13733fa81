#include "nn/timestep.h"

#include <cmath>

#include "autograd/functions.h"

namespace trip::nn {

Tensor timestep_embedding(const Tensor& timesteps, int64_t dim, bool flip_sin_to_cos,
                          double downscale_freq_shift, double scale, double max_period,
                          DType dtype) {
  TRIP_CHECK(timesteps.dim() == 1, "timestep_embedding: timesteps must be [N], got {}",
             timesteps.shape());
  TRIP_CHECK(dim >= 2, "timestep_embedding: dim must be at least 2, got {}", dim);
  int64_t half = dim / 2;
  TensorOptions options(dtype, timesteps.device());
  Tensor k = arange(0, double(half), 1.0, options);
  Tensor freqs = exp(k * (-std::log(max_period) / (double(half) - downscale_freq_shift)));
  // [N, 1] * [1, half]: one row of angles per timestep.
  Tensor angles = unsqueeze(to(timesteps, dtype), 1) * unsqueeze(freqs, 0) * scale;
  Tensor emb =
      flip_sin_to_cos ? cat({cos(angles), sin(angles)}, 1) : cat({sin(angles), cos(angles)}, 1);
  return dim % 2 == 1 ? pad(emb, {0, 1}) : emb;
}

std::string Timesteps::extra_repr() const {
  return fmt::format("num_channels={}, flip_sin_to_cos={}, downscale_freq_shift={}", num_channels,
                     flip_sin_to_cos, downscale_freq_shift);
}

TimestepEmbedding::TimestepEmbedding(int64_t in_channels, int64_t time_embed_dim, int64_t out_dim)
    : Module("TimestepEmbedding") {
  linear_1 = register_module("linear_1", std::make_shared<Linear>(in_channels, time_embed_dim));
  act = register_module("act", std::make_shared<SiLU>());
  linear_2 = register_module(
      "linear_2", std::make_shared<Linear>(time_embed_dim, out_dim > 0 ? out_dim : time_embed_dim));
}

Tensor TimestepEmbedding::forward(const Tensor& x) const {
  return linear_2->forward(act->forward(linear_1->forward(x)));
}

}  // namespace trip::nn
