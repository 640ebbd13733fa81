// defines: ResnetBlock2D (diffusers' ResnetBlock2D, "default" time-embedding norm) and
// TemporalConvLayer (diffusers' / ModelScope's temporal convolution block), the per-frame and
// across-frame convolutions of every UNet3D block. Both take and return frames folded into the
// batch: [B * F, C, H, W], frame-major within each clip (diffusers' layout).
#pragma once
#include <memory>

#include "nn/conv.h"
#include "nn/dropout.h"
#include "nn/linear.h"
#include "nn/module.h"
#include "nn/norm.h"

namespace trip {

class ResnetBlock2D : public nn::Module {
 public:
  // conv_shortcut (1x1) exists when in_channels != out_channels, as in diffusers.
  ResnetBlock2D(int64_t in_channels, int64_t out_channels, int64_t temb_channels, int64_t groups,
                double eps, double dropout);
  // x [N, C_in, H, W], temb_act [N, temb_channels] = silu(time embedding): diffusers applies
  // the SiLU inside every block; the UNet computes it once and hands it to all of them.
  Tensor forward(const Tensor& x, const Tensor& temb_act) const;
  std::string extra_repr() const override;

  int64_t in_channels, out_channels;
  std::shared_ptr<nn::GroupNorm> norm1, norm2;
  std::shared_ptr<nn::Conv2d> conv1, conv2, conv_shortcut;  // conv_shortcut may be null
  std::shared_ptr<nn::Linear> time_emb_proj;
  std::shared_ptr<nn::Dropout> dropout;
};

// x + conv4(conv3(conv2(conv1(x)))) over [B, C, F, H, W], each convI = GroupNorm, SiLU,
// (Dropout,) Conv3d with kernel 3x1x1 along frames. Names follow the nn.Sequential of diffusers:
// conv1.0 (norm), conv1.2 (conv); convK.0 (norm), convK.3 (conv) for K = 2..4. conv4's conv is
// zero-initialised, so a new block is the identity.
class TemporalConvLayer : public nn::Module {
 public:
  TemporalConvLayer(int64_t in_dim, int64_t out_dim, double dropout, int64_t norm_num_groups);
  // x [B * F, C, H, W] -> [B * F, C, H, W].
  Tensor forward(const Tensor& x, int64_t num_frames) const;
  std::string extra_repr() const override;

  int64_t in_dim, out_dim;
  std::shared_ptr<nn::ModuleList> conv1, conv2, conv3, conv4;

 private:
  // One stage on [B, C, F, H, W]: fused GroupNorm + SiLU, dropout (stages 2..4), conv.
  Tensor stage(const nn::ModuleList& seq, const Tensor& h) const;
};

}  // namespace trip
