// defines: BasicTransformerBlock, Transformer2DModel and TransformerTemporalModel with diffusers'
// names and computation (norm_type "layer_norm", GEGLU feed-forward, linear projections): the
// spatial transformer (tokens = the H*W pixels of one frame, cross-attention to the caption) and
// the temporal transformer (tokens = the F frames at one pixel, self-attention only).
#pragma once
#include <memory>

#include "nn/attention.h"
#include "nn/feed_forward.h"
#include "nn/linear.h"
#include "nn/module.h"
#include "nn/norm.h"

namespace trip {

// h += attn1(norm1(h)); h += attn2(norm2(h), context); h += ff(norm3(h)).
class BasicTransformerBlock : public nn::Module {
 public:
  // cross_attention_dim = 0: attn2 is a second self-attention (diffusers' double_self_attention).
  BasicTransformerBlock(int64_t dim, int64_t heads, int64_t head_dim, int64_t cross_attention_dim,
                        double dropout = 0.0, double norm_eps = 1e-5);
  // x [N, L, dim]; context [N, Lc, cross_attention_dim], undefined for self-attention.
  Tensor forward(const Tensor& x, const Tensor& context = Tensor()) const;

  std::shared_ptr<nn::LayerNorm> norm1, norm2, norm3;
  std::shared_ptr<nn::Attention> attn1, attn2;
  std::shared_ptr<nn::FeedForward> ff;
};

// Spatial transformer over [N, C, H, W] (N = B * F): GroupNorm (eps 1e-6), proj_in (Linear),
// one BasicTransformerBlock with cross-attention, proj_out (Linear), residual.
class Transformer2DModel : public nn::Module {
 public:
  Transformer2DModel(int64_t heads, int64_t head_dim, int64_t in_channels,
                     int64_t cross_attention_dim, int64_t norm_num_groups, double dropout = 0.0);
  // x [N, C, H, W], context [N, Lc, cross_attention_dim] -> [N, C, H, W].
  Tensor forward(const Tensor& x, const Tensor& context) const;
  std::string extra_repr() const override;

  int64_t in_channels, inner_dim;
  std::shared_ptr<nn::GroupNorm> norm;
  std::shared_ptr<nn::Linear> proj_in, proj_out;
  std::shared_ptr<nn::ModuleList> transformer_blocks;
};

// Temporal transformer over frames: GroupNorm over [B, C, F, H, W] (eps 1e-6), tokens
// [B * H * W, F, C], proj_in, one BasicTransformerBlock of two self-attentions, proj_out,
// residual. (diffusers does not zero-initialise proj_out here; neither do we.)
class TransformerTemporalModel : public nn::Module {
 public:
  // frame_positions: add a sinusoidal frame-index embedding to the tokens after proj_in
  // (UNet3DConfig::frame_position_embedding).
  TransformerTemporalModel(int64_t heads, int64_t head_dim, int64_t in_channels,
                           int64_t norm_num_groups, double dropout = 0.0,
                           bool frame_positions = false);
  // x [B * F, C, H, W] -> [B * F, C, H, W].
  Tensor forward(const Tensor& x, int64_t num_frames) const;
  std::string extra_repr() const override;

  int64_t in_channels, inner_dim;
  bool frame_positions;
  std::shared_ptr<nn::GroupNorm> norm;
  std::shared_ptr<nn::Linear> proj_in, proj_out;
  std::shared_ptr<nn::ModuleList> transformer_blocks;
};

}  // namespace trip
