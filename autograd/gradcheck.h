// defines: gradcheck(), which compares the gradients autograd computes with central finite
// differences, the test behind every backward formula.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace trip {

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0;  // over every checked element: |analytic - numeric|
  double max_rel_error = 0;  // the same divided by |numeric| (0 where both are 0)
  std::string message;       // the worst element (input, index, both values) or a summary
};

// Checks d/dx of the scalar L = sum(fn(inputs) * W), W fixed random weights of fn's output
// shape (so every output element counts, with distinct weights), for every input that requires
// grad: the analytic gradient from backward vs (L(x + eps) - L(x - eps)) / 2eps per element.
// An element passes when |analytic - numeric| <= atol + rtol * |numeric|. Floating inputs and
// fn's output must be float64, where the finite differences are accurate; integer inputs
// (indices, masks) are passed through unchanged. The caller's tensors are not modified.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          std::vector<Tensor> inputs, double eps = 1e-6, double atol = 1e-5,
                          double rtol = 1e-3);

}  // namespace trip
