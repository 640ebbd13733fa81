// Lesson 4: DDPM on 2D points — train a noise predictor, then turn Gaussian noise into data.
//
// Lesson 3 showed the forward process x_t = sqrt(ab_t) x_0 + sqrt(1 - ab_t) eps. DDPM (Ho et al.
// 2020) learns to run it backwards. A network eps_theta(x_t, t) is trained to tell which noise was
// added (Alg. 1, the loss L_simple of eq. (14)):
//     L = E_{x_0, t, eps} || eps - eps_theta(sqrt(ab_t) x_0 + sqrt(1 - ab_t) eps, t) ||^2.
// Knowing eps gives an estimate x0^ = (x_t - sqrt(1 - ab_t) eps_theta) / sqrt(ab_t) (eq. (15)), and
// sampling (Alg. 2) walks t = T-1 .. 0 through the Gaussian posterior q(x_{t-1} | x_t, x0^)
// (eqs. (6)-(7)): its mean mixes x0^ and x_t, and its variance beta~_t adds fresh noise each step.
// Here the "images" are points of the plane (two moons) and the network is a 3-layer MLP with a
// sinusoidal time embedding (toy2d.h), small enough to train in seconds on a CPU; TRIP trains a 3D
// UNet the same way (TRIP.md section 1).
//
// The sampling loop below is Alg. 2 written out with diffusion::ddpm_step (ddpm_sample does the
// same). What to look at: the loss falls from ~1 (an untrained net) to ~0.24 and no further: at
// small t the noise is a tiny perturbation of a point that x_t does not pin down exactly;
// 04_ddpm_2d.png shows the data, then the sample cloud at t = 999, 300, 100 and 0: pure noise
// contracting onto two moons. The quality numbers are the mean distance from each sample to its
// nearest data point and the share of samples on the upper moon (0.5 in the data), next to the same
// for fresh data (the best possible) and for Gaussian noise (no model); the lesson fails when the
// samples are not much closer to the data than noise is, or favour one moon.
// Run: build/examples/04_ddpm_2d [--quick] [--out DIR] [--seed N]
// The ops here are tiny ([256, 128] matmuls): on a busy machine set OMP_WAIT_POLICY=passive (as
// the test does) or OMP_NUM_THREADS=1, or OpenMP's spinning threads make the run much slower.
#include <fmt/core.h>

#include <chrono>
#include <cmath>
#include <vector>

#include "data/chart.h"
#include "diffusion/ddpm.h"
#include "examples/lesson.h"
#include "examples/toy2d.h"

using namespace trip;

int main(int argc, char** argv) {
  const LessonArgs args = parse_lesson_args(argc, argv);
  manual_seed(args.seed);
  const int steps = args.quick ? 1500 : 8000;
  const int64_t n_samples = args.quick ? 500 : 2000;
  const auto schedule = diffusion::NoiseSchedule::linear();  // T = 1000, beta 1e-4 .. 0.02

  // 1. Data and model.
  const Tensor data = toy2d::two_moons(4000, args.seed);
  toy2d::ToyDenoiser model;
  fmt::print("{}", model.to_string());
  fmt::print("{} parameters; training {} steps of 256 points\n", model.num_parameters(), steps);

  // 2. Training (Alg. 1): toy2d::train_toy_denoiser.
  const auto start = std::chrono::steady_clock::now();
  const double loss = toy2d::train_toy_denoiser(model, data, schedule, steps, 256, args.seed + 1);
  fmt::print("trained in {:.1f} s\n",
             std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());

  // 3. Sampling (Alg. 2): from x_T ~ N(0, I), one posterior step per timestep.
  ops::Generator gen{args.seed + 2};
  Tensor x = randn({n_samples, 2}, {}, &gen);
  std::vector<data::Image> panels{toy2d::scatter_panel(data, "data", {44, 160, 44})};
  {
    NoGradGuard no_grad;
    for (int64_t t = schedule.num_steps() - 1; t >= 0; --t) {
      if (t == 999 || t == 300 || t == 100) {
        panels.push_back(toy2d::scatter_panel(x, fmt::format("x_t, t = {}", t)));
      }
      const Tensor eps = model.forward(x, full({n_samples}, double(t), DType::i64));
      x = diffusion::ddpm_step(schedule, eps, t, t - 1, x, {}, Tensor(), &gen).prev_sample;
    }
  }
  panels.push_back(toy2d::scatter_panel(x, "samples x_0", {214, 39, 40}));
  data::save_png(data::side_by_side(panels), output_file(args, "04_ddpm_2d.png"));

  // 4. How good are the samples? Distances to the nearest data point.
  const Tensor fresh = toy2d::two_moons(n_samples, args.seed + 3);
  const Tensor noise = randn({n_samples, 2}, {}, &gen);
  const toy2d::Quality q_samples = toy2d::quality(x, data), q_fresh = toy2d::quality(fresh, data),
                       q_noise = toy2d::quality(noise, data);
  fmt::print("\n{:<28} {:>10} {:>12}\n", "", "distance", "upper moon");
  fmt::print("{:<28} {:10.4f} {:12.2f}\n", "fresh data (best possible)", q_fresh.distance,
             q_fresh.upper_share);
  fmt::print("{:<28} {:10.4f} {:12.2f}\n", "DDPM samples", q_samples.distance,
             q_samples.upper_share);
  fmt::print("{:<28} {:10.4f} {:12.2f}\n", "Gaussian noise (no model)", q_noise.distance,
             q_noise.upper_share);
  const bool ok = loss < 0.6 && q_samples.distance < 0.35 * q_noise.distance &&
                  std::abs(q_samples.upper_share - 0.5) < 0.15;
  fmt::print("{}\n", ok ? "check passed: the samples lie on the data"
                        : "CHECK FAILED: the samples are not close to the data");
  return ok ? 0 : 1;
}
