#include "nn/init.h"

#include <cmath>

#include "autograd/functions.h"
#include "nn/module.h"

namespace trip::nn {
namespace init {

int64_t fan_in(const Dims& shape) {
  TRIP_CHECK(shape.size() >= 2, "init::fan_in: needs a weight of 2 or more dims, got {}", shape);
  int64_t fan = 1;
  for (int i = 1; i < shape.size(); ++i) fan *= shape[i];
  return fan;
}

Tensor kaiming_uniform(const Dims& shape, double a, TensorOptions options) {
  double gain = std::sqrt(2.0 / (1.0 + a * a));
  double bound = gain * std::sqrt(3.0 / double(fan_in(shape)));
  return ops::uniform(shape, -bound, bound, options);
}

Tensor default_bias(int64_t size, int64_t fan_in, TensorOptions options) {
  double bound = fan_in > 0 ? 1.0 / std::sqrt(double(fan_in)) : 0.0;
  return ops::uniform({size}, -bound, bound, options);
}

void uniform_(const Tensor& t, double low, double high) {
  NoGradGuard no_grad;
  copy_(t, ops::uniform(t.shape(), low, high, t.options()));
}

void normal_(const Tensor& t, double mean, double std) {
  NoGradGuard no_grad;
  copy_(t, ops::randn(t.shape(), t.options()) * std + mean);
}

void constant_(const Tensor& t, double value) {
  NoGradGuard no_grad;
  fill_(t, value);
}

}  // namespace init

Module& zero_(Module& module) {
  for (const auto& [_, p] : module.named_parameters()) init::constant_(p, 0.0);
  return module;
}

}  // namespace trip::nn
