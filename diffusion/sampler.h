// defines: what the samplers share: NoisePredictor (the model as seen by a sampler),
// ProgressCallback, PredictionType (what the model outputs) and StepResult.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "tensor/tensor.h"

namespace trip::diffusion {

// The model at sampling time: the prediction for a batch x_t [B, ...] at one timestep t shared
// by the whole batch. Samplers call it under no-grad. A closure may hold conditioning (a caption
// embedding, TRIP's first frame) and recompute anything that depends on x_t (TRIP's image noise
// prior) on every call.
using NoisePredictor = std::function<Tensor(const Tensor& x_t, int64_t t)>;

// Called after each sampling step with step = 1..total.
using ProgressCallback = std::function<void(int step, int total)>;

// What the model predicts (diffusers' prediction_type).
enum class PredictionType {
  epsilon,       // the noise eps (DDPM eq. (11)); TRIP's choice
  v_prediction,  // v = sqrt(ab) eps - sqrt(1 - ab) x0 (Salimans & Ho 2022)
  sample,        // x0 itself
};
PredictionType prediction_type_from_name(std::string_view name);  // throws on unknown names

struct StepResult {
  Tensor prev_sample;  // x_{t_prev}
  Tensor pred_x0;      // the model's x0 estimate at t (after clipping), as diffusers returns it
};

// The model output at t converted to (x0, eps) estimates (diffusers' formulas for each
// prediction type); ab = alpha_bar_t. Shapes of model_output and x_t must match.
struct X0Eps {
  Tensor x0, eps;
};
X0Eps model_output_to_x0_eps(PredictionType prediction, const Tensor& model_output,
                             const Tensor& x_t, double alpha_bar, const char* op);

}  // namespace trip::diffusion
