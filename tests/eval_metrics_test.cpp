// The metrics of `trip eval` (trip/eval_metrics.h): PSNR, first-frame consistency, motion, the
// symmetric matrix square root and the Frechet distance, on clips with known answers.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "autograd/functions.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "trip/eval_metrics.h"

using namespace trip;
using namespace trip::eval;

namespace {

// N smooth random clips [N, 3, F, H, W] in [-1, 1]: moving colour gradients (so colours,
// gradients and motion all vary between clips), from a fixed seed.
Tensor smooth_clips(int64_t n, int64_t f, int64_t h, int64_t w, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<float> v(size_t(n * 3 * f * h * w));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < 3; ++c) {
      const double a = u(rng), b = u(rng), phase = 3 * u(rng), speed = 0.4 * u(rng);
      for (int64_t k = 0; k < f; ++k) {
        for (int64_t y = 0; y < h; ++y) {
          for (int64_t x = 0; x < w; ++x) {
            const double s =
                std::sin(a * 0.4 * double(x) + b * 0.3 * double(y) + phase + speed * double(k));
            v[size_t((((i * 3 + c) * f + k) * h + y) * w + x)] = float(0.8 * s);
          }
        }
      }
    }
  }
  return from_vector(v, {n, 3, f, h, w});
}

// real + sd * N(0, 1) + offset, clamped to [-1, 1].
Tensor perturbed(const Tensor& real, double sd, double offset, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g;
  std::vector<float> v = real.to_vector<float>();
  for (float& x : v) x = float(std::clamp(double(x) + sd * g(rng) + offset, -1.0, 1.0));
  return from_vector(v, real.shape());
}

std::vector<double> matmul(const std::vector<double>& a, const std::vector<double>& b, int64_t n) {
  std::vector<double> c(size_t(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < n; ++k)
      for (int64_t j = 0; j < n; ++j)
        c[size_t(i * n + j)] += a[size_t(i * n + k)] * b[size_t(k * n + j)];
  return c;
}

// A random PSD matrix M M^T of rank `rank`.
std::vector<double> random_psd(int64_t n, int64_t rank, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g;
  std::vector<double> m(size_t(n * rank));
  for (double& x : m) x = g(rng);
  std::vector<double> a(size_t(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t r = 0; r < rank; ++r)
        a[size_t(i * n + j)] += m[size_t(i * rank + r)] * m[size_t(j * rank + r)];
  return a;
}

}  // namespace

TEST_CASE("eval metrics: PSNR of known images") {
  const Tensor a = ops::zeros({2, 3, 5, 6});           // 0.5 grey on the [0, 1] scale
  std::vector<float> bv(size_t(2 * 3 * 5 * 6), 0.2f);  // image 0: 0.6 everywhere (error 0.1)
  for (size_t i = 90; i < bv.size(); ++i) bv[i] = (i % 2) ? 0.02f : -0.02f;  // image 1: +-0.01
  const std::vector<double> p = psnr(a, from_vector(bv, {2, 3, 5, 6}));
  CHECK(p[0] == doctest::Approx(20.0).epsilon(1e-5));
  CHECK(p[1] == doctest::Approx(40.0).epsilon(1e-4));
  CHECK(psnr(a, a)[0] == kMaxPsnr);
  CHECK_THROWS_AS(psnr(a, ops::zeros({2, 3, 5, 5})), Error);
}

TEST_CASE("eval metrics: identical clips give PSNR max, Frechet 0, motion ratio 1") {
  const Tensor real = smooth_clips(6, 8, 16, 16, 1);
  const ClipMetrics m = evaluate_clips(real, real);
  CHECK(m.clips == 6);
  CHECK(m.frames == 8);
  CHECK(m.psnr_first == kMaxPsnr);
  CHECK(m.fd == doctest::Approx(0.0).epsilon(1e-9));
  CHECK(m.motion_ratio == doctest::Approx(1.0));
  CHECK(m.f_consistency_4 == doctest::Approx(m.real_f_consistency_4));
  CHECK(m.f_consistency_all == doctest::Approx(m.real_f_consistency_all));
  CHECK(m.f_consistency_4 < 100.0);  // the clips move
  CHECK(m.f_consistency_4 > 50.0);
}

TEST_CASE("eval metrics: a static clip has consistency 1 and motion 0") {
  const Tensor moving = smooth_clips(3, 6, 12, 10, 2);
  const Tensor first = ops::select(moving, 2, 0);
  const Tensor still = ops::contiguous(ops::expand(ops::unsqueeze(first, 2), {3, 3, 6, 12, 10}));
  const Tensor d = frame_descriptors(still);
  for (double c : first_frame_consistency(d, 4)) CHECK(c == doctest::Approx(1.0));
  for (double c : first_frame_consistency(d, 0)) CHECK(c == doctest::Approx(1.0));
  for (double m : motion(still)) CHECK(m == 0.0);
  CHECK(std::isnan(evaluate_clips(moving, still).motion_ratio));  // real clips do not move
  CHECK(evaluate_clips(still, moving).motion_ratio == 0.0);
  // Frames 2..5 equal to the first, later ones different: consistency_4 is 1, _all is not.
  const Tensor mixed = ops::cat({ops::slice(still, 2, 0, 5), ops::slice(moving, 2, 5, 6)}, 2);
  const Tensor dm = frame_descriptors(mixed);
  for (double c : first_frame_consistency(dm, 4)) CHECK(c == doctest::Approx(1.0));
  for (double c : first_frame_consistency(dm, 0)) CHECK(c < 0.9999);
}

TEST_CASE("eval metrics: motion tracking is 1 for the real clip, 0 frozen, a/(a+b) between") {
  const Tensor real = smooth_clips(3, 6, 12, 10, 4);
  const Tensor first = ops::select(real, 2, 0);
  const Tensor frozen = ops::contiguous(ops::expand(ops::unsqueeze(first, 2), {3, 3, 6, 12, 10}));
  CHECK(motion_tracking(real, real) == doctest::Approx(1.0));
  CHECK(motion_tracking(frozen, real) == doctest::Approx(0.0));
  CHECK(evaluate_clips(real, real).motion_tracking == doctest::Approx(1.0));
  // Halfway between the first frame and the real frame: equally far from both.
  const Tensor halfway = ops::contiguous((real + frozen) * 0.5);
  CHECK(motion_tracking(halfway, real) == doctest::Approx(0.5).epsilon(1e-6));
  // A quarter of the way: a = (1/4)^2 D, b = (3/4)^2 D, so a / (a + b) = 1 / 10. (The clips stay
  // inside [-1, 1], so the [0, 1] mapping clamps nothing.)
  const Tensor quarter = ops::contiguous(frozen + (real - frozen) * 0.25);
  CHECK(motion_tracking(quarter, real) == doctest::Approx(0.1).epsilon(1e-6));
  // Frame 1 does not count; a still real clip and a still output leave nothing to measure.
  CHECK(std::isnan(motion_tracking(frozen, frozen)));
  CHECK_THROWS_AS(motion_tracking(real, ops::narrow(frozen, 2, 0, 5)), Error);
}

TEST_CASE("eval metrics: motion is the mean absolute frame change on the [0, 1] scale") {
  // Frame k is constant 0.1 k in [-1, 1] (0.05 k on [0, 1]): every step changes by 0.05.
  std::vector<float> v(size_t(3 * 4 * 4 * 4));
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.1f * float((i / 16) % 4);
  CHECK(motion(from_vector(v, {1, 3, 4, 4, 4}))[0] == doctest::Approx(0.05).epsilon(1e-5));
}

TEST_CASE("eval metrics: frame descriptors are normalised per block and fixed") {
  const Tensor clips = smooth_clips(2, 3, 9, 7, 3);
  const Tensor d = frame_descriptors(clips);
  CHECK(d.shape() == Dims{2, 3, kDescriptorSize});
  const auto v = d.to_vector<double>();
  double norm = 0;
  for (int64_t j = 0; j < kDescriptorSize; ++j) norm += v[size_t(j)] * v[size_t(j)];
  CHECK(norm == doctest::Approx(1.0));  // three unit blocks scaled by 1/sqrt(3)
  for (double x : v) CHECK(x >= 0.0);
  CHECK(frame_descriptors(clips).to_vector<double>() == v);  // deterministic
  CHECK(clip_features(d).shape() == Dims{2, kClipFeatureSize});
  CHECK_THROWS_AS(frame_descriptors(ops::zeros({1, 3, 2, 3, 8})), Error);  // under 4x4
  CHECK_THROWS_AS(frame_descriptors(ops::zeros({1, 4, 2, 8, 8})), Error);  // not RGB
}

TEST_CASE("eval metrics: noised or shifted clips are farther in Frechet distance") {
  const Tensor real = smooth_clips(16, 6, 16, 16, 4);
  const Tensor small = perturbed(real, 0.05, 0.0, 7);
  const Tensor large = perturbed(real, 0.3, 0.0, 8);
  const Tensor feats = clip_features(frame_descriptors(real));
  const double fd_small = frechet_distance(clip_features(frame_descriptors(small)), feats);
  const double fd_large = frechet_distance(clip_features(frame_descriptors(large)), feats);
  CHECK(fd_small > 0.0);
  CHECK(fd_large > fd_small);
  const Tensor brighter = perturbed(real, 0.0, 0.3, 9);
  CHECK(frechet_distance(clip_features(frame_descriptors(brighter)), feats) > fd_small);
  // Symmetric in its arguments.
  CHECK(frechet_distance(feats, clip_features(frame_descriptors(large))) ==
        doctest::Approx(fd_large));
}

TEST_CASE("eval metrics: symmetric square root and the Frechet trace term") {
  for (auto [n, rank] : {std::pair<int64_t, int64_t>{1, 1}, {5, 5}, {6, 3}, {17, 17}}) {
    const std::vector<double> a = random_psd(n, rank, uint32_t(n + rank));
    const std::vector<double> r = symmetric_sqrt(a, n);
    const std::vector<double> rr = matmul(r, r, n);
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        CHECK(r[size_t(i * n + j)] == doctest::Approx(r[size_t(j * n + i)]).epsilon(1e-9));
        CHECK(rr[size_t(i * n + j)] ==
              doctest::Approx(a[size_t(i * n + j)]).scale(10.0).epsilon(1e-9));
      }
    }
  }
  // 2x2, direct: tr((S1 S2)^1/2) = sqrt(l1) + sqrt(l2) with l the eigenvalues of S1 S2 (closed
  // form), so FD = |mu1 - mu2|^2 + tr S1 + tr S2 - 2 (sqrt(l1) + sqrt(l2)).
  const std::vector<double> s1 = {2.0, 0.6, 0.6, 1.0}, s2 = {0.5, -0.2, -0.2, 3.0};
  const std::vector<double> p = matmul(s1, s2, 2);
  const double tr = p[0] + p[3], det = p[0] * p[3] - p[1] * p[2];
  const double disc = std::sqrt(tr * tr - 4 * det);
  const double cross = std::sqrt((tr + disc) / 2) + std::sqrt((tr - disc) / 2);
  const double expected = 1.0 + 4.0 + 3.0 + 3.5 - 2 * cross;  // mu difference (1, 2)
  CHECK(frechet_distance({0.0, 0.0}, s1, {1.0, 2.0}, s2) == doctest::Approx(expected));
  // 1-D Gaussians: (m1 - m2)^2 + (sd1 - sd2)^2.
  CHECK(frechet_distance({1.0}, {4.0}, {-1.0}, {9.0}) == doctest::Approx(4.0 + 1.0));
  CHECK(frechet_distance({0.0, 0.0}, s1, {0.0, 0.0}, s1) == doctest::Approx(0.0).epsilon(1e-9));
  CHECK_THROWS_AS(symmetric_sqrt({1.0, 2.0, 3.0}, 2), Error);
  CHECK_THROWS_AS(frechet_distance({0.0}, {1.0}, {0.0, 0.0}, s1), Error);
}

TEST_CASE("eval metrics: covariance and bad inputs") {
  std::vector<double> mean, cov;
  mean_and_covariance(from_vector(std::vector<double>{1, 2, 3, 6}, {2, 2}, {DType::f64}), mean,
                      cov);
  CHECK(mean == std::vector<double>{2, 4});
  CHECK(cov == std::vector<double>{2, 4, 4, 8});  // unbiased: (x - mean)^T (x - mean) / (N - 1)
  mean_and_covariance(from_vector(std::vector<double>{1, 2}, {1, 2}, {DType::f64}), mean, cov);
  CHECK(cov == std::vector<double>{0, 0, 0, 0});  // one clip: no spread
  const Tensor clips = smooth_clips(2, 4, 8, 8, 6);
  CHECK_THROWS_AS(evaluate_clips(clips, ops::slice(clips, 2, 0, 3)), Error);
  CHECK_THROWS_AS(motion(ops::zeros({2, 3, 8, 8})), Error);
}
