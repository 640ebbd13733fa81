// defines: TemporalNoiseFusion (TNF), TRIP's fusion of the image noise prior with the UNet's
// residual noise into the final noise estimate (TRIP.md section 4):
//     h = AdaLN_t(Delta_eps);  h = h + SelfAttn(h);  h = AdaLN_t(h)
//     out = CrossAttn(query = h, key/value = [eps^{i->1} ; Delta_eps]);  eps_tilde = Proj(out)
// Project choices (TRIP.md): tokens are the H*W spatial positions of one frame, projected from C
// channels to a hidden width D; the self-attention stays within a frame; each noise's tokens get
// a learned source embedding; the frame index is embedded and added to the timestep embedding
// that drives both AdaLNs. Every token also carries a fixed 2D sinusoidal position embedding.
//
// Two deliberate changes from TRIP.md (trip/README.md has the measurements):
// 1. The cross-attention's keys and values are the two noises AT THE QUERY'S POSITION (two keys
//    per query), not all 2*H*W tokens of the frame. With the whole frame as keys, TNF must first
//    learn attention peaked enough to pick one position out of 2*H*W before it can even hand a
//    noise through, and it did not within a training run (the tiny TRIP overfitting one clip
//    plateaued at 0.37 of its starting loss). Mixing across positions is the self-attention's
//    job; the cross-attention is a learned, timestep-, frame- and content-dependent weighting of
//    prior against residual per position and head, with keys taken from layer-normalised tokens
//    so a huge prior (small t) cannot saturate it.
// 2. That weighting is applied to the noises themselves: eps_tilde = Delta_eps + g (eps^{i->1} -
//    Delta_eps) + Proj(out), with g in [0, 1] per position and channel from the heads' logits
//    (`gate`) and Proj zero-initialised. Through the attention's values alone, passing the prior
//    on (exact for frame 1, and for everything that does not move) needs a learned identity map
//    C -> D -> C, whose small errors mix the channels of the noise and showed as colour speckle
//    in every sample.
#pragma once
#include <memory>

#include "nn/attention.h"
#include "nn/linear.h"
#include "nn/module.h"
#include "nn/norm.h"
#include "nn/timestep.h"

namespace trip {

// [H * W, D] fixed sine-cosine embedding of (row, column): half the width each (ViT/MAE style).
Tensor spatial_position_embedding(int64_t H, int64_t W, int64_t D, DType dtype, Device device);

struct TnfConfig {
  int64_t channels = 3;  // C of the noises (latent channels)
  int64_t width = 64;    // hidden width D (tiny: 64, modelscope: 256)
  int64_t heads = 4;
  double eps = 1e-5;  // of the AdaLNs
};

class TemporalNoiseFusion : public nn::Module {
 public:
  explicit TemporalNoiseFusion(const TnfConfig& config);
  // residual (Delta_eps) and prior (eps^{i->1}) [B, C, F, H, W], timestep [B] (integer or
  // floating) -> eps_tilde [B, C, F, H, W]. Frame f of the clip gets frame index f.
  Tensor forward(const Tensor& residual, const Tensor& prior, const Tensor& timestep) const;
  std::string extra_repr() const override;
  // attn2 with per-position keys: h, p, r [B*F, HW, D] (p, r with their source embeddings) ->
  // the logits of prior over residual per head [B*F, HW, heads] and the attention output
  // [B*F, HW, D].
  struct BothNoises {
    Tensor logits, out;
  };
  BothNoises attend_to_both_noises(const Tensor& h, const Tensor& p, const Tensor& r) const;

  TnfConfig config;
  std::shared_ptr<nn::Linear> proj_in;  // C -> D, shared by both noises
  Tensor source_embedding;              // [2, D]: row 0 marks prior tokens, row 1 residual tokens
  std::shared_ptr<nn::Timesteps> time_proj, frame_proj;
  std::shared_ptr<nn::TimestepEmbedding> time_embedding, frame_embedding;
  std::shared_ptr<nn::AdaLayerNorm> norm1, norm2;
  std::shared_ptr<nn::Attention> attn1, attn2;  // self-attention, cross-attention to both noises
  std::shared_ptr<nn::Linear> gate;             // heads -> C: the logits of the noise-space mix
  std::shared_ptr<nn::Linear> proj_out;         // D -> C, zero-initialised: the learned correction
};

}  // namespace trip
