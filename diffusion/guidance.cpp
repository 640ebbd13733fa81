#include "diffusion/guidance.h"

#include <cmath>

#include "autograd/functions.h"
#include "tensor/error.h"

namespace trip::diffusion {

Tensor apply_guidance(const Tensor& cond, const Tensor& uncond, double scale) {
  TRIP_CHECK(std::isfinite(scale), "classifier_free_guidance: scale must be finite, got {}", scale);
  TRIP_CHECK(cond.shape() == uncond.shape(),
             "classifier_free_guidance: conditional {} and unconditional {} predictions differ in "
             "shape",
             cond.shape(), uncond.shape());
  return uncond + scale * (cond - uncond);
}

NoisePredictor classifier_free_guidance(NoisePredictor cond, NoisePredictor uncond, double scale) {
  TRIP_CHECK(cond != nullptr && uncond != nullptr,
             "classifier_free_guidance: both predictors must be given");
  TRIP_CHECK(std::isfinite(scale), "classifier_free_guidance: scale must be finite, got {}", scale);
  return [cond = std::move(cond), uncond = std::move(uncond), scale](const Tensor& x_t,
                                                                     int64_t t) -> Tensor {
    Tensor c = cond(x_t, t);
    if (scale == 1.0) return c;  // uncond + 1 (c - uncond) = c: skip the second model call
    return apply_guidance(c, uncond(x_t, t), scale);
  };
}

NoisePredictor classifier_free_guidance_batched(NoisePredictor doubled, double scale) {
  TRIP_CHECK(doubled != nullptr, "classifier_free_guidance_batched: no predictor given");
  TRIP_CHECK(std::isfinite(scale), "classifier_free_guidance: scale must be finite, got {}", scale);
  return [doubled = std::move(doubled), scale](const Tensor& x_t, int64_t t) -> Tensor {
    TRIP_CHECK(x_t.dim() >= 1, "classifier_free_guidance_batched: x_t must be [B, ...]");
    const int64_t B = x_t.size(0);
    const Tensor out = doubled(cat({x_t, x_t}, 0), t);
    Dims expected = x_t.shape();
    expected[0] = 2 * B;
    TRIP_CHECK(out.shape() == expected,
               "classifier_free_guidance_batched: the predictor must return [2B, ...] = {} "
               "(unconditional half first), got {}",
               expected, out.shape());
    return apply_guidance(narrow(out, 0, B, B), narrow(out, 0, 0, B), scale);
  };
}

}  // namespace trip::diffusion
