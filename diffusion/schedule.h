// defines: NoiseSchedule, the beta schedule of the forward diffusion process (TRIP.md section 1)
// and its cumulative products, kept in float64 so that alpha_bar near t = T (about 4e-5 for the
// linear schedule) keeps its digits.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tensor/tensor.h"

namespace trip::diffusion {

class NoiseSchedule {
 public:
  // DDPM's schedule, TRIP's default: beta linear in t from beta_start to beta_end.
  static NoiseSchedule linear(int64_t steps = 1000, double beta_start = 1e-4,
                              double beta_end = 2e-2);
  // Stable Diffusion's: sqrt(beta) linear from sqrt(beta_start) to sqrt(beta_end).
  static NoiseSchedule scaled_linear(int64_t steps = 1000, double beta_start = 0.00085,
                                     double beta_end = 0.012);
  // Nichol & Dhariwal's cosine schedule (diffusers' "squaredcos_cap_v2"): alpha_bar(t) =
  // cos^2((t/T + s)/(1 + s) * pi/2), betas clipped at max_beta.
  static NoiseSchedule cosine(int64_t steps = 1000, double s = 0.008, double max_beta = 0.999);
  // "linear", "scaled_linear" or "cosine" with each one's default betas; other names throw.
  static NoiseSchedule from_name(std::string_view name, int64_t steps = 1000);

  const std::string& name() const { return name_; }
  int64_t num_steps() const { return static_cast<int64_t>(betas_.size()); }
  const std::vector<double>& betas() const { return betas_; }
  const std::vector<double>& alphas_cumprod() const { return alphas_cumprod_; }
  double alpha_bar(int64_t t) const;  // alphas_cumprod[t], t in [0, T); throws outside

  // alpha_bar at each entry of an integer tensor t (any shape), as a tensor of `dtype` on t's
  // device; values outside [0, T) throw naming the first one.
  Tensor alpha_bar_at(const Tensor& t, DType dtype) const;

 private:
  NoiseSchedule(std::string name, std::vector<double> betas);
  std::string name_;
  std::vector<double> betas_;
  std::vector<double> alphas_cumprod_;
};

}  // namespace trip::diffusion
