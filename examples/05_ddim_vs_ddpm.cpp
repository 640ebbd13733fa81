// Lesson 5: DDIM vs DDPM — the same trained model, sampled with 1000, 100, 50 and 10 steps.
//
// DDPM (lesson 4) needs one network call per training timestep: 1000 calls per sample. DDIM (Song
// et al. 2021) keeps the model and the training but changes the sampler. It uses the model's x0^ =
// (x_t - sqrt(1 - ab_t) eps_theta) / sqrt(ab_t) and jumps straight to any earlier timestep s < t
// (DDIM eq. (12)):
//     x_s = sqrt(ab_s) x0^ + sqrt(1 - ab_s - sigma^2) eps_theta + sigma z,
//     sigma = eta sqrt((1 - ab_s) / (1 - ab_t)) sqrt(1 - ab_t / ab_s)              (eq. (16)).
// With eta = 0 no noise is added: the path from x_T to x_0 is deterministic (the same x_T always
// gives the same sample) and follows a smooth trajectory that a few large steps trace well; eta = 1
// gives back DDPM's posterior noise. The timesteps visited are diffusers' "leading" spacing
// (t = 990, 980, ..., 0 for 100 steps; diffusion::ddim_timesteps). DDPM can also skip timesteps
// (the effective beta of a jump is 1 - ab_t / ab_s), shown here with 100 and 10 steps too.
//
// What to look at: the table. Every sampler starts from the same x_T. "to data" is the mean
// distance from a sample to the nearest data point (are samples on the moons?), "to samples" the
// mean distance from a fresh data point to the nearest sample (are the moons covered?); lower is
// better for both, and fresh data gives the floor. Wall time falls with the number of model calls
// (~100x from 1000 to 10 steps), and quality holds up to 50 steps and degrades at 10. On this easy
// 2D problem DDPM with skipped steps does about as well as DDIM (0.048 vs 0.044 at 10 steps, seed
// 0); on images the gap is large (DDIM paper, Table 1: CIFAR10 FID at 10 steps 13.4 for eta = 0,
// 41.1 for eta = 1). What DDIM always adds is determinism: x_T fixes the sample, checked below.
// 05_ddim_vs_ddpm.png shows the data and each sampler's points.
// Run: build/examples/05_ddim_vs_ddpm [--quick] [--out DIR] [--seed N]
// On a busy machine set OMP_WAIT_POLICY=passive (as the test does) or OMP_NUM_THREADS=1: the ops
// are tiny, and OpenMP's spinning threads would make the run much slower (see lesson 4).
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "data/chart.h"
#include "diffusion/ddim.h"
#include "diffusion/ddpm.h"
#include "examples/lesson.h"
#include "examples/toy2d.h"

using namespace trip;

int main(int argc, char** argv) {
  const LessonArgs args = parse_lesson_args(argc, argv);
  manual_seed(args.seed);
  const int64_t n_samples = args.quick ? 500 : 2000;
  const auto schedule = diffusion::NoiseSchedule::linear();

  // The model of lesson 4, trained the same way.
  const Tensor data = toy2d::two_moons(4000, args.seed);
  toy2d::ToyDenoiser model;
  toy2d::train_toy_denoiser(model, data, schedule, args.quick ? 1500 : 8000, 256, args.seed + 1, 2);
  const diffusion::NoisePredictor eps_theta = [&](const Tensor& x_t, int64_t t) {
    return model.forward(x_t, full({x_t.size(0)}, double(t), DType::i64));
  };

  ops::Generator gen{args.seed + 2};
  const Tensor x_T = randn({n_samples, 2}, {}, &gen);
  const Tensor fresh = toy2d::two_moons(n_samples, args.seed + 3);

  struct Row {
    std::string name;
    std::function<Tensor()> sample;
    double seconds = 0;
    toy2d::Quality on_data, covered;
  };
  auto ddpm = [&](int64_t steps) {
    diffusion::DdpmOptions options;
    options.steps = steps;
    return [&, options] { return diffusion::ddpm_sample(schedule, eps_theta, x_T, options, &gen); };
  };
  auto ddim = [&](int64_t steps) {
    diffusion::DdimOptions options;
    options.steps = steps;  // eta = 0: deterministic
    return [&, options] { return diffusion::ddim_sample(schedule, eps_theta, x_T, options); };
  };
  std::vector<Row> rows;
  for (int64_t steps : {1000, 100, 10})
    rows.push_back({fmt::format("DDPM {}", steps), ddpm(steps), 0, {}, {}});
  for (int64_t steps : {100, 50, 10})
    rows.push_back({fmt::format("DDIM {}", steps), ddim(steps), 0, {}, {}});
  std::vector<data::Image> panels{toy2d::scatter_panel(data, "data", {44, 160, 44}, 260)};
  Tensor ddim50;
  for (Row& row : rows) {
    const auto start = std::chrono::steady_clock::now();
    const Tensor x0 = row.sample();
    row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    row.on_data = toy2d::quality(x0, data);
    row.covered = toy2d::quality(fresh, x0);
    panels.push_back(toy2d::scatter_panel(x0, row.name, {214, 39, 40}, 260));
    if (row.name == "DDIM 50") ddim50 = x0;
  }
  data::save_png(data::side_by_side(panels), output_file(args, "05_ddim_vs_ddpm.png"));

  const toy2d::Quality noise = toy2d::quality(randn({n_samples, 2}, {}, &gen), data);
  fmt::print("\n{} samples from the same x_T\n", n_samples);
  fmt::print("{:<12} {:>9} {:>9} {:>11} {:>11} {:>11}\n", "sampler", "seconds", "speedup",
             "to data", "to samples", "upper moon");
  for (const Row& row : rows) {
    fmt::print("{:<12} {:9.3f} {:8.1f}x {:11.4f} {:11.4f} {:11.2f}\n", row.name, row.seconds,
               rows[0].seconds / row.seconds, row.on_data.distance, row.covered.distance,
               row.on_data.upper_share);
  }
  const toy2d::Quality floor = toy2d::quality(fresh, data);
  fmt::print("{:<12} {:>9} {:>9} {:11.4f} {:>11} {:11.2f}\n", "fresh data", "", "", floor.distance,
             "", floor.upper_share);
  fmt::print("{:<12} {:>9} {:>9} {:11.4f} {:>11} {:11.2f}\n", "noise", "", "", noise.distance, "",
             noise.upper_share);

  // Checks: the long samplers land on the data, DDIM with eta = 0 is deterministic, few steps are
  // faster.
  int failures = 0;
  auto check = [&](bool ok, const std::string& what) {
    if (!ok) fmt::print("CHECK FAILED: {}\n", what), ++failures;
  };
  auto find = [&](const std::string& name) -> const Row& {
    return *std::find_if(rows.begin(), rows.end(), [&](const Row& r) { return r.name == name; });
  };
  for (const char* name : {"DDPM 1000", "DDIM 100", "DDIM 50"}) {
    check(find(name).on_data.distance < 0.35 * noise.distance,
          fmt::format("{} off the data", name));
  }
  check(find("DDIM 10").on_data.distance < 0.6 * noise.distance, "DDIM 10 off the data");
  check(amax(abs(find("DDIM 50").sample() - ddim50)).item() == 0,
        "DDIM (eta = 0) is not deterministic");
  check(find("DDIM 10").seconds * 5 < find("DDPM 1000").seconds,
        "DDIM 10 is not much faster than DDPM 1000");
  fmt::print("{}\n", failures ? "some checks FAILED" : "all checks passed");
  return failures ? 1 : 0;
}
