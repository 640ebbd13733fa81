// defines: GroupNorm and LayerNorm (torch.nn.GroupNorm / LayerNorm) with affine `weight` (ones)
// and `bias` (zeros); forward calls trip::group_norm / trip::layer_norm.
#pragma once
#include "nn/module.h"

namespace trip::nn {

class GroupNorm : public Module {
 public:
  GroupNorm(int64_t num_groups, int64_t num_channels, double eps = 1e-5, bool affine = true);
  // x [B, C, ...]; silu = true fuses the SiLU that follows the norm in every ResNet block.
  Tensor forward(const Tensor& x, bool silu = false) const;
  std::string extra_repr() const override;

  int64_t num_groups, num_channels;
  double eps;
  Tensor weight, bias;  // [C], undefined when not affine
};

class LayerNorm : public Module {
 public:
  LayerNorm(int64_t dim, double eps = 1e-5, bool elementwise_affine = true);
  // Normalises over the last dim of x [..., dim].
  Tensor forward(const Tensor& x) const;
  std::string extra_repr() const override;

  int64_t dim;
  double eps;
  Tensor weight, bias;  // [dim], undefined when not affine
};

}  // namespace trip::nn
