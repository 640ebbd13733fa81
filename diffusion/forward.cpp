#include "diffusion/forward.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/functions.h"
#include "tensor/error.h"

namespace trip::diffusion {

namespace {

void check_same_shape(const char* op, const char* a_name, const Tensor& a, const char* b_name,
                      const Tensor& b) {
  TRIP_CHECK(a.shape() == b.shape(), "{}: {} {} and {} {} must have the same shape", op, a_name,
             a.shape(), b_name, b.shape());
}

void check_floating(const char* op, const char* name, const Tensor& x) {
  TRIP_CHECK(x.defined(), "{}: {} is undefined", op, name);
  TRIP_CHECK(is_floating(x.dtype()), "{}: {} must be floating, got {}", op, name, x.dtype());
}

// The broadcast shape [B, 1, ..., 1] of a per-sample value for samples `like` [B, ...], after
// checking that t is an integer tensor [B].
Dims per_sample_shape(const Tensor& t, const Tensor& like, const char* op) {
  TRIP_CHECK(like.dim() >= 1, "{}: samples must be [B, ...], got a 0-d tensor", op);
  TRIP_CHECK(t.defined() && !is_floating(t.dtype()) && t.dtype() != DType::boolean,
             "{}: timesteps t must be an integer tensor, got {}", op,
             t.defined() ? dtype_name(t.dtype()) : "undefined");
  TRIP_CHECK(t.dim() == 1 && t.size(0) == like.size(0),
             "{}: timesteps t must be [B] = [{}] for samples {}, got {}", op, like.size(0),
             like.shape(), t.shape());
  Dims shape;
  shape.push_back(like.size(0));
  for (int64_t d = 1; d < like.dim(); ++d) shape.push_back(1);
  return shape;
}

// f(alpha_bar_t) of each sample, evaluated in float64 on the CPU and only then rounded to like's
// dtype and moved to its device: sqrt(1 - ab) near t = 0 or 1 / sqrt(ab) near t = T keep their
// digits in bf16/f16 this way, and only B numbers travel.
template <typename F>
Tensor coefficient(const NoiseSchedule& schedule, const Tensor& t, const Tensor& like,
                   const char* op, F f) {
  const Dims shape = per_sample_shape(t, like, op);
  std::vector<double> values =
      ops::to(schedule.alpha_bar_at(t, DType::f64), kCPU).to_vector<double>();
  for (double& v : values) v = f(v);
  return ops::to(ops::to(from_vector(values, shape, DType::f64), like.dtype()), like.device());
}

double sqrt_ab(double ab) { return std::sqrt(ab); }
double sqrt_one_minus_ab(double ab) { return std::sqrt(1.0 - ab); }
double rsqrt_ab(double ab) { return 1.0 / std::sqrt(ab); }
double rsqrt_one_minus_ab(double ab) { return 1.0 / std::sqrt(1.0 - ab); }
double identity(double ab) { return ab; }

}  // namespace

Tensor alpha_bar_per_sample(const NoiseSchedule& schedule, const Tensor& t, const Tensor& like,
                            const char* op) {
  return coefficient(schedule, t, like, op, identity);
}

Tensor q_sample(const NoiseSchedule& schedule, const Tensor& x0, const Tensor& t,
                const Tensor& noise) {
  check_floating("q_sample", "x0", x0);
  check_same_shape("q_sample", "x0", x0, "noise", noise);
  return coefficient(schedule, t, x0, "q_sample", sqrt_ab) * x0 +
         coefficient(schedule, t, x0, "q_sample", sqrt_one_minus_ab) * noise;
}

Tensor epsilon_target(const NoiseSchedule& schedule, const Tensor& x0, const Tensor& t,
                      const Tensor& noise) {
  check_floating("epsilon_target", "x0", x0);
  check_same_shape("epsilon_target", "x0", x0, "noise", noise);
  coefficient(schedule, t, x0, "epsilon_target", identity);  // validates t like the others
  return noise;
}

Tensor v_target(const NoiseSchedule& schedule, const Tensor& x0, const Tensor& t,
                const Tensor& noise) {
  check_floating("v_target", "x0", x0);
  check_same_shape("v_target", "x0", x0, "noise", noise);
  return coefficient(schedule, t, x0, "v_target", sqrt_ab) * noise -
         coefficient(schedule, t, x0, "v_target", sqrt_one_minus_ab) * x0;
}

Tensor predict_x0_from_eps(const NoiseSchedule& schedule, const Tensor& x_t, const Tensor& t,
                           const Tensor& eps) {
  check_floating("predict_x0_from_eps", "x_t", x_t);
  check_same_shape("predict_x0_from_eps", "x_t", x_t, "eps", eps);
  const char* op = "predict_x0_from_eps";
  return (x_t - coefficient(schedule, t, x_t, op, sqrt_one_minus_ab) * eps) *
         coefficient(schedule, t, x_t, op, rsqrt_ab);
}

Tensor predict_eps_from_x0(const NoiseSchedule& schedule, const Tensor& x_t, const Tensor& t,
                           const Tensor& x0) {
  check_floating("predict_eps_from_x0", "x_t", x_t);
  check_same_shape("predict_eps_from_x0", "x_t", x_t, "x0", x0);
  const char* op = "predict_eps_from_x0";
  return (x_t - coefficient(schedule, t, x_t, op, sqrt_ab) * x0) *
         coefficient(schedule, t, x_t, op, rsqrt_one_minus_ab);
}

Tensor predict_eps_from_v(const NoiseSchedule& schedule, const Tensor& x_t, const Tensor& t,
                          const Tensor& v) {
  check_floating("predict_eps_from_v", "x_t", x_t);
  check_same_shape("predict_eps_from_v", "x_t", x_t, "v", v);
  const char* op = "predict_eps_from_v";
  return coefficient(schedule, t, x_t, op, sqrt_one_minus_ab) * x_t +
         coefficient(schedule, t, x_t, op, sqrt_ab) * v;
}

Tensor predict_x0_from_eps(const NoiseSchedule& schedule, const Tensor& x_t, int64_t t,
                           const Tensor& eps) {
  check_floating("predict_x0_from_eps", "x_t", x_t);
  check_same_shape("predict_x0_from_eps", "x_t", x_t, "eps", eps);
  const double ab = schedule.alpha_bar(t);
  return (x_t - std::sqrt(1.0 - ab) * eps) * (1.0 / std::sqrt(ab));
}

Tensor predict_eps_from_x0(const NoiseSchedule& schedule, const Tensor& x_t, int64_t t,
                           const Tensor& x0) {
  check_floating("predict_eps_from_x0", "x_t", x_t);
  check_same_shape("predict_eps_from_x0", "x_t", x_t, "x0", x0);
  const double ab = schedule.alpha_bar(t);
  return (x_t - std::sqrt(ab) * x0) * (1.0 / std::sqrt(1.0 - ab));
}

Tensor epsilon_mse_loss(const Tensor& pred, const Tensor& target) {
  check_floating("epsilon_mse_loss", "pred", pred);
  check_floating("epsilon_mse_loss", "target", target);
  check_same_shape("epsilon_mse_loss", "pred", pred, "target", target);
  TRIP_CHECK(pred.numel() > 0, "epsilon_mse_loss: empty tensors {}", pred.shape());
  return mean(square(pred - target));
}

Tensor epsilon_mse_loss(const Tensor& pred, const Tensor& target, const Tensor& weights) {
  check_floating("epsilon_mse_loss", "pred", pred);
  check_floating("epsilon_mse_loss", "weights", weights);
  check_same_shape("epsilon_mse_loss", "pred", pred, "target", target);
  Dims expected{pred.dim() >= 1 ? pred.size(0) : 0};
  for (int64_t d = 1; d < pred.dim(); ++d) expected.push_back(1);
  TRIP_CHECK(pred.dim() >= 1 && weights.shape() == expected,
             "epsilon_mse_loss: weights must be [B, 1, ..., 1] = {} for pred {}, got {}", expected,
             pred.shape(), weights.shape());
  TRIP_CHECK(pred.numel() > 0, "epsilon_mse_loss: empty tensors {}", pred.shape());
  return mean(weights * square(pred - target));
}

Tensor snr_loss_weights(const NoiseSchedule& schedule, const Tensor& t, double floor, double gamma,
                        const Tensor& like) {
  TRIP_CHECK(std::isfinite(floor) && std::isfinite(gamma) && floor >= 0 && gamma >= 0 &&
                 (gamma == 0 || floor <= gamma),
             "snr_loss_weights: need 0 <= floor <= gamma (0: off), got floor {} and gamma {}",
             floor, gamma);
  // The x0-space weight clamp(SNR, floor, gamma) divided by SNR, the weight the plain epsilon
  // loss already carries (||eps - eps_hat||^2 = SNR ||x0 - x0_hat||^2).
  return coefficient(schedule, t, like, "snr_loss_weights", [floor, gamma](double ab) {
    const double snr = ab / (1.0 - ab);
    double x0_weight = std::max(snr, floor);
    if (gamma > 0) x0_weight = std::min(x0_weight, gamma);
    return x0_weight / snr;
  });
}

namespace {

// Fractions of the schedule in [0, 1] (f64 [B]) -> int64 steps floor(T u) in [0, T): the min
// guards a draw rounded up to T.
Tensor steps_from_fractions(const Tensor& u, const NoiseSchedule& schedule) {
  const double T = static_cast<double>(schedule.num_steps());
  return ops::to(ops::binary(BinaryOp::minimum, ops::binary(BinaryOp::mul, u, T), T - 1.0),
                 DType::i64);
}

}  // namespace

Tensor sample_timesteps(int64_t batch, const NoiseSchedule& schedule, ops::Generator* gen,
                        Device device) {
  TRIP_CHECK(batch >= 0, "sample_timesteps: batch must be >= 0, got {}", batch);
  return steps_from_fractions(
      ops::uniform({batch}, 0.0, 1.0, TensorOptions(DType::f64, device), gen), schedule);
}

Tensor sample_timesteps_logit_normal(int64_t batch, const NoiseSchedule& schedule, double mean,
                                     double std, ops::Generator* gen, Device device) {
  TRIP_CHECK(batch >= 0, "sample_timesteps_logit_normal: batch must be >= 0, got {}", batch);
  TRIP_CHECK(
      std::isfinite(mean) && std::isfinite(std) && std > 0,
      "sample_timesteps_logit_normal: need a finite mean and std > 0, got mean {} and std {}", mean,
      std);
  const Tensor n = ops::randn({batch}, TensorOptions(DType::f64, device), gen);
  const Tensor logit = ops::binary(BinaryOp::add, ops::binary(BinaryOp::mul, n, std), mean);
  return steps_from_fractions(ops::unary(UnaryOp::sigmoid, logit), schedule);
}

}  // namespace trip::diffusion
