#include "nn/linear.h"

#include <cmath>

#include "autograd/functions.h"
#include "nn/init.h"

namespace trip::nn {

Linear::Linear(int64_t in, int64_t out, bool with_bias)
    : Module("Linear"), in_features(in), out_features(out) {
  weight = register_parameter("weight", init::kaiming_uniform({out, in}, std::sqrt(5.0)));
  if (with_bias) bias = register_parameter("bias", init::default_bias(out, in));
}

Tensor Linear::forward(const Tensor& x) const {
  TRIP_CHECK(x.dim() >= 1 && x.size(-1) == in_features,
             "Linear: input {} does not end in in_features = {}", x.shape(), in_features);
  Tensor y = matmul(x, transpose(weight, 0, 1));
  return bias.defined() ? y + bias : y;
}

std::string Linear::extra_repr() const {
  return fmt::format("in_features={}, out_features={}, bias={}", in_features, out_features,
                     bias.defined());
}

}  // namespace trip::nn
