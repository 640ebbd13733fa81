// defines: Upsample2D and Downsample2D with diffusers' names (the conv is the child `conv`), and
// the parameter-free resampling they use. Video models apply them per frame: the caller folds
// frames into the batch ([B*F, C, H, W]).
#pragma once
#include <memory>

#include "nn/conv.h"
#include "nn/module.h"

namespace trip::nn {

// Nearest-neighbour x2 upsampling of [B, C, H, W] -> [B, C, 2H, 2W] (F.interpolate(scale=2,
// mode="nearest")), built from differentiable views: each pixel is expanded into a 2x2 block.
Tensor upsample_nearest2x(const Tensor& x);
// 2x2 average pooling with stride 2 (nn.AvgPool2d(2, 2)); H and W must be even.
Tensor avg_pool2x(const Tensor& x);

class Upsample2D : public Module {
 public:
  // use_conv: a 3x3 conv (padding 1) after the upsampling, as in every diffusers UNet up block.
  Upsample2D(int64_t channels, bool use_conv = true, int64_t out_channels = 0);
  Tensor forward(const Tensor& x) const;
  std::string extra_repr() const override;

  int64_t channels, out_channels;
  std::shared_ptr<Conv2d> conv;  // null without use_conv
};

class Downsample2D : public Module {
 public:
  // use_conv: a 3x3 conv of stride 2 (padding 1); otherwise 2x2 average pooling.
  Downsample2D(int64_t channels, bool use_conv = true, int64_t out_channels = 0,
               int64_t padding = 1);
  Tensor forward(const Tensor& x) const;
  std::string extra_repr() const override;

  int64_t channels, out_channels;
  std::shared_ptr<Conv2d> conv;  // null without use_conv
};

}  // namespace trip::nn
