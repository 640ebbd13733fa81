// Lesson 3: forward diffusion — destroying a video frame with Gaussian noise, one formula for any
// t.
//
// A diffusion model learns to undo a fixed noising process. Step t adds a little Gaussian noise,
// x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps_t, for t = 1..T (T = 1000). Because Gaussians
// compose, the whole chain from x_0 to x_t collapses into one draw (DDPM eq. (4), TRIP.md
// section 1):
//     x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps,   alpha_bar_t = prod_{s<=t} (1 -
//     beta_s),
// so training can jump to any t directly (diffusion::q_sample). alpha_bar_t is the share of the
// signal's variance still present at t; SNR_t = alpha_bar_t / (1 - alpha_bar_t) is the
// signal-to-noise ratio. The schedule (the betas) decides how fast alpha_bar falls: `linear` (DDPM,
// TRIP: beta 1e-4..0.02), `scaled_linear` (Stable Diffusion: sqrt(beta) linear, 0.00085..0.012)
// and `cosine` (Nichol & Dhariwal: alpha_bar_t = cos^2((t/T + s)/(1 + s) pi/2)).
//
// What to look at: 03_forward_strip.png, one frame of a synthetic clip at t = 0 .. 999 under the
// linear schedule with the same eps each time: the picture fades into noise and is gone long before
// t = 999. The table: alpha_bar_t and the signal share measured from the pixels (the regression of
// x_t on x_0, which should come out near sqrt(alpha_bar_t)). 03_schedules.png: alpha_bar_t of the
// three schedules (left) and their SNR on a log axis (right): linear destroys the signal early,
// cosine keeps it longest at mid t and ends at ~2e-9, scaled_linear ends with SNR ~5e-3 (never
// pure noise, a known flaw that Lin et al. 2023 fix by rescaling).
// Run: build/examples/03_forward_diffusion [--quick] [--out DIR] [--seed N]
#include <fmt/core.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "autograd/functions.h"
#include "data/chart.h"
#include "data/export.h"
#include "data/synthetic.h"
#include "diffusion/forward.h"
#include "examples/lesson.h"

using namespace trip;
using diffusion::NoiseSchedule;

int main(int argc, char** argv) {
  const LessonArgs args = parse_lesson_args(argc, argv);
  manual_seed(args.seed);
  const int64_t size = args.quick ? 32 : 64;
  const std::vector<int64_t> steps = {0, 50, 100, 200, 300, 500, 700, 999};
  const int64_t k = int64_t(steps.size());
  int failures = 0;

  // x_0: the first frame of a synthetic clip, [1, 3, H, W] in [-1, 1].
  const data::Video clip = data::synthesize(int64_t(args.seed), args.seed, 2, size);
  fmt::print("frame 0 of \"{}\", {}x{}\n", clip.caption, size, size);
  const Tensor x0 = unsqueeze(select(data::to_tensor(clip, 0, 1), 1, 0), 0);

  // Noise it at every t of the list in one batch: the same eps for all, so the strip shows one
  // noise pattern growing while the frame fades.
  const NoiseSchedule linear = NoiseSchedule::linear();
  const Tensor t = from_vector(steps, {k}, DType::i64);
  const Tensor eps = expand(randn({1, 3, size, size}), {k, 3, size, size});
  const Tensor xt = diffusion::q_sample(linear, expand(x0, {k, 3, size, size}), t, eps);

  // How much of x_0 is left: regress x_t on x_0 (eps is independent of x_0, so the slope
  // estimates sqrt(alpha_bar_t), up to sampling error of about 1 / (std(x_0) sqrt(pixels))).
  const Tensor centred = x0 - mean(x0);
  const double var0 = mean(square(centred)).item();
  fmt::print("\n{:>5} {:>12} {:>10} {:>12} {:>10} {:>9}\n", "t", "alpha_bar_t", "SNR", "sqrt(ab_t)",
             "measured", "std(x_t)");
  for (int64_t i = 0; i < k; ++i) {
    const Tensor x = select(xt, 0, i);
    const double ab = linear.alpha_bar(steps[size_t(i)]);
    const double slope = mean((x - mean(x)) * squeeze(centred, 0)).item() / var0;
    const double spread = std::sqrt(mean(square(x - mean(x))).item());
    fmt::print("{:5d} {:12.6f} {:10.3g} {:12.4f} {:10.4f} {:9.3f}\n", steps[size_t(i)], ab,
               ab / (1 - ab), std::sqrt(ab), slope, spread);
    if (std::abs(slope - std::sqrt(ab)) > 6 / std::sqrt(var0 * double(x0.numel()))) {
      fmt::print("CHECK FAILED: the measured signal share at t = {} is off\n", steps[size_t(i)]);
      ++failures;
    }
  }

  // The strip: x_t as pictures (values clipped to [-1, 1]), each frame labelled with its t.
  const int scale = int(128 / size);  // frames shown 128 pixels wide
  const data::Image strip =
      data::strip_image(data::from_tensor(permute(xt, {1, 0, 2, 3}), 1.0), scale);
  data::Image labelled(strip.height + 16, strip.width, 255);
  std::memcpy(labelled.rgb.data(), strip.rgb.data(), strip.rgb.size());
  for (int64_t i = 0; i < k; ++i) {
    data::draw_text(labelled, i * (size * scale + 2) + 2, strip.height + 4,
                    fmt::format("t={}", steps[size_t(i)]));
  }
  data::save_png(labelled, output_file(args, "03_forward_strip.png"));

  // The three schedules: alpha_bar_t, and the SNR on a log axis.
  data::ChartOptions ab_options, snr_options;
  ab_options.title = "alpha_bar_t";
  snr_options.title = "SNR = ab/(1-ab)";
  snr_options.log_y = true, snr_options.y_min = 1e-5, snr_options.y_max = 1e4;
  ab_options.width = snr_options.width = 480;
  data::Chart ab_chart(ab_options), snr_chart(snr_options);
  fmt::print("\n{:<14} {:>10} {:>10} {:>10} {:>10}\n", "schedule", "ab_0", "ab_250", "ab_500",
             "ab_999");
  for (const char* name : {"linear", "scaled_linear", "cosine"}) {
    const NoiseSchedule s = NoiseSchedule::from_name(name);
    std::vector<double> ts, ab, snr;
    for (int64_t i = 0; i < s.num_steps(); i += args.quick ? 10 : 1) {
      ts.push_back(double(i));
      ab.push_back(s.alpha_bar(i));
      snr.push_back(std::max(s.alpha_bar(i) / (1 - s.alpha_bar(i)), 1e-30));  // cosine hits 0
      if (i > 0 && ab.back() >= ab[ab.size() - 2]) {  // must fall monotonically
        fmt::print("CHECK FAILED: {} alpha_bar does not fall at t = {}\n", name, i);
        ++failures;
      }
    }
    ab_chart.line(ts, ab, name);
    snr_chart.line(ts, snr, name);
    fmt::print("{:<14} {:10.6f} {:10.6f} {:10.6f} {:10.3g}\n", name, s.alpha_bar(0),
               s.alpha_bar(250), s.alpha_bar(500), s.alpha_bar(999));
  }
  data::save_png(data::side_by_side({ab_chart.render(), snr_chart.render()}),
                 output_file(args, "03_schedules.png"));
  fmt::print("{}\n", failures ? "some checks FAILED" : "all checks passed");
  return failures ? 1 : 0;
}
