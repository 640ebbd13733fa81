// Slow: the tiny TRIP (TRIP.md section 3's preset, full size) memorises one fixed clip. A model
// that cannot drive its own training loss down on a single example has a bug somewhere between
// the prior, the UNet, TNF, the loss and AdamW that the unit tests missed.
#include <doctest/doctest.h>
#include <fmt/core.h>

#include <chrono>

#include "autograd/functions.h"
#include "diffusion/forward.h"
#include "nn/optim/adamw.h"
#include "tensor/ops.h"
#include "trip/trip_model.h"

using namespace trip;

TEST_CASE("tiny TRIP overfits one clip: the loss falls at least 10x in a few hundred steps") {
  manual_seed(0);
  TripConfig config = TripConfig::tiny();
  config.caption.vocab_size = 8;
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
  nn::AdamW opt(model.parameter_groups(1e-3, 1e-3, 0.0));
  ops::Generator gen{1, 0};
  const int steps = 300;
  std::vector<double> losses;
  const auto start = std::chrono::steady_clock::now();
  for (int step = 0; step < steps; ++step) {
    const Tensor t = diffusion::sample_timesteps(B, model.schedule(), &gen);
    const Tensor noise = ops::randn(clip.shape(), DType::f32, &gen);
    const Tensor loss = model.loss(clip, t, noise, model.encode_captions(ids));
    loss.backward();
    opt.step();
    opt.zero_grad();
    losses.push_back(loss.item<double>());
    if (step % 50 == 0) fmt::print("overfit step {} loss {:.4f}\n", step, losses.back());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Single-step losses are noisy (t is random): compare means over the first and last 30 steps.
  auto mean_of = [&](size_t from) {
    double s = 0;
    for (size_t i = from; i < from + 30; ++i) s += losses[i];
    return s / 30;
  };
  const double first = mean_of(0), last = mean_of(losses.size() - 30);
  fmt::print("overfit: mean loss {:.4f} -> {:.4f} in {} steps ({:.2f} s/step)\n", first, last,
             steps, seconds / steps);
  CHECK(last < first / 10);
}
