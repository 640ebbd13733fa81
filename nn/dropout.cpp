#include "nn/dropout.h"

#include "autograd/functions.h"

namespace trip::nn {

Dropout::Dropout(double p_) : Module("Dropout"), p(p_) {
  TRIP_CHECK(p >= 0.0 && p <= 1.0, "Dropout: p = {} is not a probability", p);
}

Tensor Dropout::forward(const Tensor& x) const {
  if (!is_training() || p == 0.0) return x;
  if (p == 1.0) return x * 0.0;  // keeps the graph (zero gradient) instead of dividing by 0
  // keep ~ Bernoulli(1 - p) in x's dtype; not differentiable, so it is a constant of the graph.
  Tensor keep = trip::to(ge(rand(x.shape(), x.options()), p), x.dtype());
  return x * keep * (1.0 / (1.0 - p));
}

std::string Dropout::extra_repr() const { return fmt::format("p={}", p); }

}  // namespace trip::nn
