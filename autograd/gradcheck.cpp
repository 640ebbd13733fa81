#include "autograd/gradcheck.h"

#include <cmath>
#include <limits>

#include "autograd/functions.h"

namespace trip {

namespace {

// "[1, 2]": the position of flat element `flat` in a row-major tensor of this shape.
std::string index_of(int64_t flat, const Dims& shape) {
  Dims index = Dims::filled(shape.size(), 0);
  for (int d = shape.size() - 1; d >= 0; --d) {
    index[d] = flat % std::max<int64_t>(shape[d], 1);
    flat /= std::max<int64_t>(shape[d], 1);
  }
  return to_string(index);
}

void check_inputs(const std::vector<Tensor>& inputs) {
  bool any = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    if (!x.defined()) continue;
    TRIP_CHECK(!is_floating(x.dtype()) || x.dtype() == DType::f64,
               "gradcheck: input {} has dtype {}; gradcheck needs f64 inputs (finite differences "
               "in lower precision are dominated by rounding)",
               i, x.dtype());
    any |= x.requires_grad();
  }
  TRIP_CHECK(any, "gradcheck: no input requires grad, so there is nothing to check");
}

}  // namespace

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          std::vector<Tensor> inputs, double eps, double atol, double rtol) {
  check_inputs(inputs);
  // Our own copies: contiguous host tensors we perturb in place, moved to the input's device
  // for each evaluation.
  std::vector<Tensor> host(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].defined()) host[i] = ops::clone(ops::to(inputs[i], kCPU));
  auto on_device = [&](size_t i) {
    return inputs[i].is_cuda() ? ops::to(host[i], inputs[i].device()) : ops::clone(host[i]);
  };

  // The weights W, from a generator of their own so the caller's random stream is untouched.
  Tensor weights;
  {
    NoGradGuard no_grad;
    std::vector<Tensor> args;
    for (size_t i = 0; i < inputs.size(); ++i)
      args.push_back(host[i].defined() ? on_device(i) : Tensor());
    Tensor out = fn(args);
    TRIP_CHECK(out.dtype() == DType::f64, "gradcheck: fn returned dtype {}; compute in f64",
               out.dtype());
    ops::Generator gen{0x9e3779b97f4a7c15ull, 0};
    weights = ops::randn(out.shape(), TensorOptions(DType::f64, out.device()), &gen);
  }

  // Analytic gradients: one backward of L from fresh leaves.
  std::vector<Tensor> leaves(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!host[i].defined()) continue;
    leaves[i] = on_device(i);
    if (inputs[i].requires_grad()) leaves[i].set_requires_grad(true);
  }
  {
    EnableGradGuard grad_on;
    Tensor loss = sum(fn(leaves) * weights);
    if (loss.requires_grad()) loss.backward();  // else every gradient is zero
  }

  // Numeric gradients: central differences of L, one element at a time.
  auto objective = [&]() {
    NoGradGuard no_grad;
    std::vector<Tensor> args;
    for (size_t i = 0; i < inputs.size(); ++i)
      args.push_back(host[i].defined() ? (inputs[i].is_cuda() ? on_device(i) : host[i]) : Tensor());
    return ops::sum(ops::binary(BinaryOp::mul, fn(args), weights)).item<double>();
  };

  GradcheckResult result;
  double worst_excess = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].requires_grad()) continue;
    Tensor grad = leaves[i].grad();
    std::vector<double> analytic =
        grad.defined() ? grad.to_vector<double>() : std::vector<double>(host[i].numel(), 0.0);
    double* x = host[i].data<double>();
    for (int64_t j = 0; j < host[i].numel(); ++j) {
      double original = x[j];
      x[j] = original + eps;
      double plus = objective();
      x[j] = original - eps;
      double minus = objective();
      x[j] = original;
      double numeric = (plus - minus) / (2 * eps);

      double err = std::abs(analytic[j] - numeric);
      double allowed = atol + rtol * std::abs(numeric);
      double rel = err == 0 ? 0 : err / std::abs(numeric);
      bool bad = !(err <= allowed);  // NaN anywhere fails
      if (std::isnan(err)) err = rel = std::numeric_limits<double>::infinity();
      result.max_abs_error = std::max(result.max_abs_error, err);
      result.max_rel_error = std::max(result.max_rel_error, rel);
      if (bad) result.ok = false;
      double excess =
          std::isnan(err - allowed) ? std::numeric_limits<double>::infinity() : err - allowed;
      if (bad && excess > worst_excess) {
        worst_excess = excess;
        result.message = fmt::format(
            "gradcheck: input {} (shape {}), element {} (index {}): numeric {:.10g} vs analytic "
            "{:.10g} (abs error {:.3g}, allowed {:.3g})",
            i, host[i].shape(), j, index_of(j, host[i].shape()), numeric, analytic[j], err,
            allowed);
      }
    }
  }
  if (result.ok)
    result.message = fmt::format("gradcheck: ok (max abs error {:.3g}, max rel error {:.3g})",
                                 result.max_abs_error, result.max_rel_error);
  return result;
}

}  // namespace trip
