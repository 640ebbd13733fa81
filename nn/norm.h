// defines: GroupNorm and LayerNorm (torch.nn.GroupNorm / LayerNorm) with affine `weight` (ones)
// and `bias` (zeros); forward calls trip::group_norm / trip::layer_norm. AdaLayerNorm: a LayerNorm
// whose scale and shift are computed per sample from a conditioning embedding (diffusers'
// AdaLayerNorm, DiT's adaLN), forward calls the fused trip::ada_layer_norm.
#pragma once
#include <memory>

#include "nn/linear.h"
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

// scale, shift = chunk(linear(silu(emb)), 2); y = layer_norm(x) * (1 + scale) + shift, the norm
// without affine parameters of its own (diffusers' AdaLayerNorm: `linear` [2 * dim, emb_dim]).
class AdaLayerNorm : public Module {
 public:
  AdaLayerNorm(int64_t dim, int64_t embedding_dim, double eps = 1e-5);
  // x [B, L, dim], emb [B, embedding_dim] -> [B, L, dim].
  Tensor forward(const Tensor& x, const Tensor& emb) const;
  std::string extra_repr() const override;

  int64_t dim, embedding_dim;
  double eps;
  std::shared_ptr<Linear> linear;
};

}  // namespace trip::nn
