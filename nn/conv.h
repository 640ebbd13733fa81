// defines: Conv2d and Conv3d (torch.nn.Conv2d/3d): weight [out, in / groups, *kernel], bias
// [out]; forward calls trip::conv2d / trip::conv3d.
#pragma once
#include <array>

#include "nn/module.h"

namespace trip::nn {

class Conv2d : public Module {
 public:
  using Size = std::array<int64_t, 2>;
  // PyTorch's default init: kaiming_uniform(a = sqrt(5)) weight, U(+-1/sqrt(fan_in)) bias.
  Conv2d(int64_t in_channels, int64_t out_channels, Size kernel, Size stride = {1, 1},
         Size padding = {0, 0}, bool bias = true, int64_t groups = 1);
  // Square kernels, the common case: Conv2d(c, c, 3, 1, 1).
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride = 1,
         int64_t padding = 0, bool bias = true)
      : Conv2d(in_channels, out_channels, Size{kernel, kernel}, Size{stride, stride},
               Size{padding, padding}, bias) {}
  // x [B, C_in, H, W] -> [B, C_out, H', W'].
  Tensor forward(const Tensor& x) const;
  std::string extra_repr() const override;

  int64_t in_channels, out_channels, groups;
  Size kernel, stride, padding;
  Tensor weight, bias;
};

class Conv3d : public Module {
 public:
  using Size = std::array<int64_t, 3>;
  Conv3d(int64_t in_channels, int64_t out_channels, Size kernel, Size stride = {1, 1, 1},
         Size padding = {0, 0, 0}, bool bias = true, int64_t groups = 1);
  // x [B, C_in, F, H, W] -> [B, C_out, F', H', W'].
  Tensor forward(const Tensor& x) const;
  std::string extra_repr() const override;

  int64_t in_channels, out_channels, groups;
  Size kernel, stride, padding;
  Tensor weight, bias;
};

}  // namespace trip::nn
