// Slow: the tiny TRIP (TRIP.md section 3's preset, full size, with its default TNF fusion)
// memorises one fixed clip. A model that cannot drive its own training loss down on a single
// example has a bug somewhere between the UNet, the prior, TNF, the conditioning, the loss and
// AdamW that the unit tests missed. Measured 2026-11-25 (t = 100..900): TNF 1.007 -> 0.015 (69x),
// TRIP^- 45x; TNF with the whole frame as cross-attention keys (TRIP.md's first choice) plateaued
// at 0.37 of the start, which is why TNF now attends to the two noises at each position.
// After training it samples from the clip's own first frame and prints the motion tracking of
// that video against the clip (reported, not checked: 1 would be the memorised motion, 0 a still
// image). Measured 2026-12-07, 300 steps: 0.046 with the plain loss, 0.26 with snr_floor 0.1;
// at lr 1e-3 0.48, 0.51, 0.64, 0.76 with snr_floor 0.1, 1, 10, 100. Even a memorised clip comes
// out nearly still under the plain epsilon loss (trip/README.md, "Why the short runs do not
// move"). With prediction v and snr_floor 1: 0.775 (0.682 at lr 1e-3); v with the plain loss 0.202.
// Under v the loss starts lower (a zero v output is already sqrt(1 - abar) z_t, close to the
// noise at large t), so the 10x check below fails there (7.8x) though the motion is learned.
// TRIP_OVERFIT_FUSION=none|linear|tnf picks another fusion, TRIP_OVERFIT_LR the lr (3e-4),
// TRIP_OVERFIT_STEPS the steps (300), TRIP_OVERFIT_SNR_FLOOR the loss's snr_floor (0),
// TRIP_OVERFIT_PREDICTION the UNet's prediction (epsilon).
#include <doctest/doctest.h>
#include <fmt/core.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "diffusion/forward.h"
#include "nn/optim/adamw.h"
#include "nn/optim/clip.h"
#include "tensor/ops.h"
#include "trip/eval_metrics.h"
#include "trip/trip_model.h"

using namespace trip;

TEST_CASE("tiny TRIP overfits one clip: the loss falls at least 10x in a few hundred steps") {
  manual_seed(0);
  TripConfig config = TripConfig::tiny();
  config.caption.vocab_size = 8;
  if (const char* f = std::getenv("TRIP_OVERFIT_FUSION")) config.fusion = fusion_from_name(f);
  if (const char* p = std::getenv("TRIP_OVERFIT_PREDICTION"))
    config.prediction = prediction_from_name(p);
  TripModel model(config);
  const int64_t B = 1, N = config.frames, S = config.size;
  // One clip: a bright square moving right over a gradient background (in [-1, 1]).
  std::vector<float> pixels(static_cast<size_t>(3 * N * S * S));
  for (int64_t c = 0; c < 3; ++c) {
    for (int64_t f = 0; f < N; ++f) {
      for (int64_t y = 0; y < S; ++y) {
        for (int64_t x = 0; x < S; ++x) {
          const bool square = y >= 12 && y < 20 && x >= 4 + 2 * f && x < 12 + 2 * f;
          const float background = -0.8f + 0.02f * float(x + y) + 0.2f * float(c);
          pixels[static_cast<size_t>(((c * N + f) * S + y) * S + x)] =
              square ? (c == 0 ? 0.9f : -0.5f) : background;
        }
      }
    }
  }
  const Tensor clip = from_vector(pixels, {B, 3, N, S, S});
  const Tensor ids = from_vector<int64_t>({2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
                                          {B, config.context_length}, DType::i64);
  const double lr =
      std::getenv("TRIP_OVERFIT_LR") ? std::atof(std::getenv("TRIP_OVERFIT_LR")) : 3e-4;
  nn::AdamW opt(model.parameter_groups(lr, lr, 0.0));
  ops::Generator gen{1, 0};
  diffusion::SnrWeighting weighting;
  if (const char* f = std::getenv("TRIP_OVERFIT_SNR_FLOOR")) weighting.floor = std::atof(f);
  const int steps =
      std::getenv("TRIP_OVERFIT_STEPS") ? std::atoi(std::getenv("TRIP_OVERFIT_STEPS")) : 300;
  // The measured loss: fixed timesteps across the schedule with fixed noise, so before and after
  // compare the same thing (single training losses swing with the random t).
  ops::Generator eval_gen{2, 0};
  std::vector<Tensor> eval_noise;
  for (int k = 0; k < 9; ++k) eval_noise.push_back(ops::randn(clip.shape(), DType::f32, &eval_gen));
  auto loss_at = [&](int64_t timestep, const Tensor& noise) {
    NoGradGuard no_grad;
    model.eval();
    const Tensor t = from_vector<int64_t>({timestep}, {1}, DType::i64);
    const double loss = model.loss(clip, t, noise, model.encode_captions(ids)).item<double>();
    model.train();
    return loss;
  };
  auto eval_loss = [&] {
    double total = 0;
    for (int k = 0; k < 9; ++k) total += loss_at(100 * (k + 1), eval_noise[size_t(k)]);
    return total / 9;
  };
  // Reported, not checked: near t = 0 the prior of moving pixels is up to ~100x the frame change,
  // so a fusion that lets a little of it through shows here first.
  auto small_t_losses = [&] {
    return fmt::format("t=5 {:.3f}, t=20 {:.3f}, t=50 {:.3f}", loss_at(5, eval_noise[0]),
                       loss_at(20, eval_noise[1]), loss_at(50, eval_noise[2]));
  };
  const double before = eval_loss();
  const std::string small_before = small_t_losses();
  std::vector<double> losses;
  const auto start = std::chrono::steady_clock::now();
  for (int step = 0; step < steps; ++step) {
    const Tensor t = diffusion::sample_timesteps(B, model.schedule(), &gen);
    const Tensor noise = ops::randn(clip.shape(), DType::f32, &gen);
    const Tensor loss = model.loss(clip, t, noise, model.encode_captions(ids), weighting);
    loss.backward();
    nn::clip_grad_norm(model.named_parameters(), 1.0);  // as the Trainer does
    opt.step();
    opt.zero_grad();
    losses.push_back(loss.item<double>());
    if (step % 50 == 0) fmt::print("overfit step {} loss {:.4f}\n", step, losses.back());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double after = eval_loss();
  fmt::print("overfit: loss at t = 100..900 {:.4f} -> {:.4f} in {} steps ({:.2f} s/step)\n", before,
             after, steps, seconds / steps);
  fmt::print("overfit: loss at small t before {}; after {}\n", small_before, small_t_losses());
  CHECK(after < before / 10);
  // Sampling from the memorised clip's own first frame: does the video move as the clip does?
  SampleOptions sampling;
  sampling.steps = 25;
  const Tensor video = model.sample(select(clip, 2, 0), model.encode_captions(ids), sampling);
  fmt::print(
      "overfit: sampled from the clip's first frame: motion tracking {:.3f}, motion {:.4f} (clip "
      "{:.4f})\n",
      eval::motion_tracking(video, clip), eval::motion(video)[0], eval::motion(clip)[0]);
}
