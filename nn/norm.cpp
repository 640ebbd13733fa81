#include "nn/norm.h"

#include "autograd/functions.h"

namespace trip::nn {

GroupNorm::GroupNorm(int64_t groups, int64_t channels, double eps_, bool affine)
    : Module("GroupNorm"), num_groups(groups), num_channels(channels), eps(eps_) {
  TRIP_CHECK(groups >= 1 && channels % groups == 0,
             "GroupNorm: {} channels not divisible into {} groups", channels, groups);
  if (affine) {
    weight = register_parameter("weight", ones({channels}));
    bias = register_parameter("bias", zeros({channels}));
  }
}

Tensor GroupNorm::forward(const Tensor& x, bool silu) const {
  return group_norm(x, num_groups, weight, bias, eps, silu);
}

std::string GroupNorm::extra_repr() const {
  return fmt::format("{}, {}, eps={}, affine={}", num_groups, num_channels, eps, weight.defined());
}

LayerNorm::LayerNorm(int64_t dim_, double eps_, bool affine)
    : Module("LayerNorm"), dim(dim_), eps(eps_) {
  if (affine) {
    weight = register_parameter("weight", ones({dim}));
    bias = register_parameter("bias", zeros({dim}));
  }
}

Tensor LayerNorm::forward(const Tensor& x) const {
  TRIP_CHECK(x.dim() >= 1 && x.size(-1) == dim, "LayerNorm: input {} does not end in dim = {}",
             x.shape(), dim);
  return layer_norm(x, weight, bias, eps);
}

std::string LayerNorm::extra_repr() const {
  return fmt::format("({},), eps={}, elementwise_affine={}", dim, eps, weight.defined());
}

AdaLayerNorm::AdaLayerNorm(int64_t dim_, int64_t embedding_dim_, double eps_)
    : Module("AdaLayerNorm"), dim(dim_), embedding_dim(embedding_dim_), eps(eps_) {
  linear = register_module("linear", std::make_shared<Linear>(embedding_dim, 2 * dim));
}

Tensor AdaLayerNorm::forward(const Tensor& x, const Tensor& emb) const {
  TRIP_CHECK(x.dim() == 3 && x.size(-1) == dim, "AdaLayerNorm: input must be [B, L, {}], got {}",
             dim, x.shape());
  TRIP_CHECK(emb.dim() == 2 && emb.size(0) == x.size(0) && emb.size(1) == embedding_dim,
             "AdaLayerNorm: embedding must be [B, embedding_dim] = [{}, {}], got {}", x.size(0),
             embedding_dim, emb.shape());
  const std::vector<Tensor> scale_shift = chunk(linear->forward(silu(emb)), 2, 1);
  return ada_layer_norm(x, scale_shift[0], scale_shift[1], Tensor(), Tensor(), eps);
}

std::string AdaLayerNorm::extra_repr() const {
  return fmt::format("dim={}, embedding_dim={}, eps={}", dim, embedding_dim, eps);
}

}  // namespace trip::nn
