// Global-norm gradient clipping.
#include "nn/optim/clip.h"

#include <cmath>
#include <string>

#include "autograd/functions.h"
#include "tensor/error.h"

namespace trip::nn {

double clip_grad_norm(const NamedTensors& params, double max_norm) {
  TRIP_CHECK(max_norm > 0, "clip_grad_norm: max_norm must be positive, got {}", max_norm);
  NoGradGuard no_grad;
  // Per-tensor norms summed in double: the per-tensor reduction is deterministic (tensor/), and
  // squaring the norms loses nothing that matters for a clipping threshold.
  double sum_sq = 0;
  std::string first_bad;
  for (const auto& [name, p] : params) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    double n = norm(g).item<double>();
    if (!std::isfinite(n) && first_bad.empty()) first_bad = name;
    sum_sq += n * n;
  }
  double total = std::sqrt(sum_sq);
  TRIP_CHECK(std::isfinite(total),
             "clip_grad_norm: the total gradient norm is non-finite ({}); first non-finite "
             "gradient: '{}'",
             total, first_bad.empty() ? std::string("(overflow of the sum)") : first_bad);
  double scale = max_norm / (total + 1e-6);
  if (scale < 1.0) {
    for (const auto& [name, p] : params) {
      Tensor g = p.grad();
      if (g.defined()) mul_(g, scale);
    }
  }
  return total;
}

}  // namespace trip::nn
