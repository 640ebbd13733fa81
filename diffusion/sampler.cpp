#include "diffusion/sampler.h"

#include <cmath>

#include "autograd/functions.h"
#include "tensor/error.h"

namespace trip::diffusion {

PredictionType prediction_type_from_name(std::string_view name) {
  if (name == "epsilon") return PredictionType::epsilon;
  if (name == "v_prediction") return PredictionType::v_prediction;
  if (name == "sample") return PredictionType::sample;
  fail("unknown prediction type '{}' (expected epsilon, v_prediction or sample)", name);
}

X0Eps model_output_to_x0_eps(PredictionType prediction, const Tensor& model_output,
                             const Tensor& x_t, double alpha_bar, const char* op) {
  TRIP_CHECK(x_t.defined() && is_floating(x_t.dtype()), "{}: x_t must be a floating tensor", op);
  TRIP_CHECK(model_output.defined() && model_output.shape() == x_t.shape(),
             "{}: the model output {} must have the shape of x_t {}", op,
             model_output.defined() ? fmt::format("{}", model_output.shape()) : "(undefined)",
             x_t.shape());
  TRIP_CHECK(model_output.dtype() == x_t.dtype() && model_output.device() == x_t.device(),
             "{}: the model output ({}, {}) must have x_t's dtype and device ({}, {})", op,
             model_output.dtype(), model_output.device(), x_t.dtype(), x_t.device());
  const double a = std::sqrt(alpha_bar), b = std::sqrt(1.0 - alpha_bar);
  switch (prediction) {
    case PredictionType::epsilon:
      return {(x_t - b * model_output) * (1.0 / a), model_output};
    case PredictionType::v_prediction:
      // x0 = a x_t - b v, eps = a v + b x_t (invert v = a eps - b x0 with x_t = a x0 + b eps).
      return {a * x_t - b * model_output, a * model_output + b * x_t};
    case PredictionType::sample:
      return {model_output, (x_t - a * model_output) * (1.0 / b)};
  }
  fail("{}: bad prediction type", op);
}

}  // namespace trip::diffusion
