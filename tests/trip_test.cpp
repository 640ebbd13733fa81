// TRIP model parts: the image noise prior (TRIP.md section 2).
#include <doctest/doctest.h>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "diffusion/schedule.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "trip/noise_prior.h"

using namespace trip;

namespace {

// z_t = sqrt(ab) z0 + sqrt(1 - ab) eps with one t per clip, written out per element.
Tensor noised(const Tensor& z0, const Tensor& eps, const std::vector<double>& ab) {
  const int64_t B = z0.size(0);
  Tensor out = ops::zeros(z0.shape(), z0.dtype());
  for (int64_t b = 0; b < B; ++b) {
    const double a = ab[static_cast<size_t>(b)];
    ops::copy_(ops::select(out, 0, b),
               ops::select(z0, 0, b) * std::sqrt(a) + ops::select(eps, 0, b) * std::sqrt(1 - a));
  }
  return out;
}

}  // namespace

TEST_CASE("image noise prior equals the true noise when every frame is the first frame") {
  const diffusion::NoiseSchedule schedule = diffusion::NoiseSchedule::linear();
  const int64_t B = 3, C = 2, F = 4, H = 3, W = 5;
  ops::Generator gen{7, 0};
  const Tensor first = ops::randn({B, C, H, W}, DType::f64, &gen);
  const Tensor z0 = ops::contiguous(ops::expand(ops::unsqueeze(first, 2), {B, C, F, H, W}));
  for (int64_t t : {0, 1, 250, 999}) {
    const Tensor eps = ops::randn({B, C, F, H, W}, DType::f64, &gen);
    const Tensor ts = from_vector<int64_t>({t, t, t}, {B}, DType::i64);
    const Tensor ab = schedule.alpha_bar_at(ts, DType::f64);
    const Tensor prior =
        image_noise_prior(noised(z0, eps, ab.to_vector<double>()), first, ts, schedule);
    const double err = amax(trip::abs(prior - eps)).item<double>();
    INFO("t = " << t);
    CHECK(err < 1e-9 / std::sqrt(1 - schedule.alpha_bar(t)));
  }
}

TEST_CASE("image noise prior satisfies the identity of TRIP.md section 2 for any clip") {
  // eps^{i->1} = eps^i + sqrt(ab)/sqrt(1-ab) (z0^i - z0^1), with mixed t in one batch.
  const diffusion::NoiseSchedule schedule = diffusion::NoiseSchedule::linear();
  const int64_t B = 3, C = 3, F = 5, H = 4, W = 3;
  ops::Generator gen{11, 0};
  const Tensor z0 = ops::randn({B, C, F, H, W}, DType::f64, &gen);
  const Tensor eps = ops::randn({B, C, F, H, W}, DType::f64, &gen);
  const Tensor ts = from_vector<int64_t>({5, 480, 990}, {B}, DType::i64);
  const std::vector<double> ab = schedule.alpha_bar_at(ts, DType::f64).to_vector<double>();
  const Tensor first = ops::contiguous(ops::select(z0, 2, 0));
  const Tensor prior = image_noise_prior(noised(z0, eps, ab), first, ts, schedule);
  for (int64_t b = 0; b < B; ++b) {
    const double a = ab[static_cast<size_t>(b)];
    const Tensor expected = ops::select(eps, 0, b) +
                            (ops::select(z0, 0, b) - ops::unsqueeze(ops::select(first, 0, b), 1)) *
                                (std::sqrt(a) / std::sqrt(1 - a));
    CHECK(amax(trip::abs(ops::select(prior, 0, b) - expected)).item<double>() < 1e-8);
  }
}

TEST_CASE("image noise prior: gradients and shape errors") {
  ops::Generator gen{3, 0};
  const Tensor z_t = ops::randn({2, 2, 3, 2, 2}, DType::f64, &gen).set_requires_grad();
  const Tensor first = ops::randn({2, 2, 2, 2}, DType::f64, &gen).set_requires_grad();
  const Tensor ab = from_vector<double>({0.3, 0.9}, {2}, DType::f64);
  const GradcheckResult result =
      gradcheck([&](const std::vector<Tensor>& in) { return image_noise_prior(in[0], in[1], ab); },
                {z_t, first});
  CHECK_MESSAGE(result.ok, result.message);
  CHECK_THROWS_AS(image_noise_prior(z_t, ops::zeros({2, 2, 3, 2}, DType::f64), ab), Error);
  CHECK_THROWS_AS(image_noise_prior(ops::zeros({2, 2, 2, 2}, DType::f64), first, ab), Error);
  CHECK_THROWS_AS(image_noise_prior(z_t, first, from_vector<double>({0.3}, {1}, DType::f64)),
                  Error);
}
