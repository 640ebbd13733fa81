#include <cmath>

#include "tensor/backend.h"
#include "tensor/ops.h"

namespace trip::ops {

Tensor full(const Dims& shape, double value, TensorOptions options) {
  Tensor t = empty(shape, options);
  if (t.numel() > 0) backend(options.device).fill(t, value);
  return t;
}
Tensor zeros(const Dims& shape, TensorOptions options) { return full(shape, 0.0, options); }
Tensor ones(const Dims& shape, TensorOptions options) { return full(shape, 1.0, options); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.options()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.options()); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, t.options()); }

// arange and linspace are computed on the host in double and converted once, so every device
// gets the same values.
Tensor arange(double start, double end, double step, TensorOptions options) {
  TRIP_CHECK(step != 0, "arange: step must be non-zero");
  TRIP_CHECK(std::isfinite(start) && std::isfinite(end), "arange: bounds must be finite");
  double count = std::ceil((end - start) / step);
  int64_t n = count > 0 ? int64_t(count) : 0;
  std::vector<double> values(n);
  for (int64_t i = 0; i < n; ++i) values[i] = start + double(i) * step;
  return from_vector(values, {n}, options);
}

Tensor linspace(double start, double end, int64_t steps, TensorOptions options) {
  TRIP_CHECK(steps >= 0, "linspace: steps must be non-negative, got {}", steps);
  std::vector<double> values(steps);
  double delta = steps > 1 ? (end - start) / double(steps - 1) : 0.0;
  // Fill from both ends so the last value is exactly `end`.
  for (int64_t i = 0; i < steps; ++i) {
    values[i] = i < steps / 2 ? start + delta * double(i) : end - delta * double(steps - 1 - i);
  }
  return from_vector(values, {steps}, options);
}

}  // namespace trip::ops
