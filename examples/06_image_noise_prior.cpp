// Lesson 6: the image noise prior — TRIP's shortcut from the given image to every noisy frame.
//
// Image-to-video diffusion knows the first frame z_0^1 exactly. Forward diffusion noises every
// frame i of the clip with one timestep t: z_t^i = sqrt(ab_t) z_0^i + sqrt(1 - ab_t) eps^i
// (ab = alpha_bar, TRIP.md section 1). TRIP asks: which noise would have turned the *first* frame
// into z_t^i in a single step? Solving the same equation for the noise with z_0^1 in place of z_0^i
// gives the image noise prior (TRIP.md section 2, the paper's eq. (5)):
//     eps_t^{i->1} = (z_t^i - sqrt(ab_t) z_0^1) / sqrt(1 - ab_t).
// It needs no parameters, and substituting z_t^i shows how far it is from the true noise:
//     eps_t^{i->1} = eps^i + k_t (z_0^i - z_0^1),   k_t = sqrt(ab_t) / sqrt(1 - ab_t).
// So it is exact for the first frame, close for frames that look like the first one, and the error
// is the frame's change scaled by k_t: huge at small t, tiny near t = T. The UNet only has to
// predict a residual; the prior carries the rest (TRIP.md sections 3-4).
//
// What to look at: the table of relative errors |prior - eps| / |eps| (0 in frame 1, growing with
// the motion, shrinking as t grows), the identity's max error (~1e-14 in float64), and the
// picture: rows are timesteps (the clean clip on top), columns the frames; per row the prior, the
// true noise and their difference (noise values divided by 3, so +-3 is white/black).
// Run: build/examples/06_image_noise_prior [--quick] [--out DIR] [--seed N: another clip]
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/functions.h"
#include "data/export.h"
#include "data/image.h"
#include "data/synthetic.h"
#include "diffusion/forward.h"
#include "examples/lesson.h"
#include "trip/noise_prior.h"

using namespace trip;

// Largest |x| over all elements.
static double max_abs(const Tensor& x) { return amax(abs(x)).item(); }
// Root mean square over all elements.
static double rms(const Tensor& x) { return std::sqrt(mean(square(x)).item()); }

int main(int argc, char** argv) {
  const LessonArgs args = parse_lesson_args(argc, argv);
  manual_seed(args.seed);
  const auto schedule = diffusion::NoiseSchedule::linear();  // TRIP's schedule, T = 1000
  const int64_t frames = 8, size = 32;
  const std::vector<int64_t> steps = args.quick ? std::vector<int64_t>{10, 500, 999}
                                                : std::vector<int64_t>{10, 100, 300, 600, 999};

  // A synthetic clip (a sprite moving over a background) as z_0 [1, 3, F, H, W] in [-1, 1]; in
  // pixel space (the tiny preset) the "latent" is the image itself. float64 for the identity.
  const data::Video clip = data::synthesize(int64_t(args.seed), args.seed, frames, size);
  fmt::print("clip: \"{}\", {} frames of {}x{}\n", clip.caption, frames, size, size);
  const Tensor z0 = unsqueeze(to(data::to_tensor(clip), DType::f64), 0);
  const Tensor z0_first = select(z0, 2, 0);  // [1, 3, H, W]: the given image

  std::vector<data::Video> rows{data::from_tensor(select(z0, 0, 0), clip.fps)};
  const Tensor blank = ones({3, 1, size, size}, DType::f64);  // a white frame between blocks
  double identity_error = 0, first_frame_error = 0;
  fmt::print("\nrelative error |prior - eps| / |eps| per timestep (rows) and frame (columns)\n");
  fmt::print("{:>5} {:>8} |", "t", "k_t");
  for (int64_t i = 1; i <= frames; ++i) fmt::print(" {:>6}", fmt::format("i={}", i));
  fmt::print("\n");
  for (int64_t t : steps) {
    // Forward diffusion with one t for the clip (TRIP.md section 1).
    const Tensor tt = full({1}, double(t), DType::i64);
    const Tensor eps = randn(z0.shape(), DType::f64);
    const Tensor z_t = diffusion::q_sample(schedule, z0, tt, eps);
    const Tensor prior = image_noise_prior(z_t, z0_first, tt, schedule);

    // The identity, both sides computed independently.
    const double ab = schedule.alpha_bar(t), k = std::sqrt(ab) / std::sqrt(1 - ab);
    const Tensor predicted = eps + (z0 - unsqueeze(z0_first, 2)) * k;
    identity_error = std::max(identity_error, max_abs(prior - predicted));
    first_frame_error = std::max(first_frame_error, max_abs(select(prior - eps, 2, 0)));

    fmt::print("{:5d} {:8.3f} |", t, k);
    for (int64_t i = 0; i < frames; ++i) {
      const Tensor p = select(prior, 2, i), e = select(eps, 2, i);
      fmt::print(" {:6.3f}", rms(p - e) / rms(e));
    }
    fmt::print("\n");
    // One picture row: prior | noise | difference, each block F frames; noise / 3 maps +-3 to +-1.
    const Tensor row = cat({select(prior, 0, 0) / 3.0, blank, select(eps, 0, 0) / 3.0, blank,
                            select(prior - eps, 0, 0) / 3.0},
                           1);
    rows.push_back(data::from_tensor(row, clip.fps));
  }

  fmt::print("\nidentity eps^(i->1) = eps^i + k_t (z_0^i - z_0^1): max error {:.2e}\n",
             identity_error);
  fmt::print("frame 1 (the given image): max |prior - eps| = {:.2e}\n", first_frame_error);
  data::save_png(data::grid_image(rows, 2), output_file(args, "06_image_noise_prior.png"));
  fmt::print("picture: top row the clean clip; then one row per t = ");
  for (int64_t t : steps) fmt::print("{} ", t);
  fmt::print("(prior | true noise | prior - noise)\n");

  const bool ok = identity_error < 1e-10 && first_frame_error < 1e-10;
  fmt::print("{}\n", ok ? "ok: the identity holds" : "FAILED: the identity does not hold");
  return ok ? 0 : 1;
}
