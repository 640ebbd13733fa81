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

}  // namespace trip::nn
