// defines: the evaluation metrics declared in eval_metrics.h. The frame descriptor is our own
// fixed feature space (no learned weights, nothing to download), so the numbers are comparable
// between our runs but not with the paper's CLIP/FVD values (trip/README.md, "Evaluation").
#include "trip/eval_metrics.h"

// GCC 12 reports Eigen's AVX-512 packet code as maybe-uninitialized once inlined here (a known
// false positive); -Werror builds would fail on it.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numbers>

#include "tensor/error.h"
#include "tensor/ops.h"

namespace trip::eval {

namespace {

constexpr int kColourBins = 8, kOrientationBins = 8, kThumb = 4, kCells = 5;
constexpr int64_t kColourSize = kCells * 3 * kColourBins;     // 120
constexpr int64_t kGradientSize = kCells * kOrientationBins;  // 40
constexpr int64_t kThumbSize = 3 * kThumb * kThumb;           // 48
static_assert(kColourSize + kGradientSize + kThumbSize == kDescriptorSize);

// Clips as contiguous f32 on the host, checked to be [N, 3, F, H, W].
std::vector<float> host_clips(const Tensor& clips, const char* what) {
  TRIP_CHECK(clips.dim() == 5 && clips.size(1) == 3,
             "{}: expected clips [N, 3, F, H, W], got shape {}", what, clips.shape());
  TRIP_CHECK(clips.size(0) >= 1 && clips.size(2) >= 1, "{}: no clips or no frames in shape {}",
             what, clips.shape());
  return ops::to(ops::contiguous(clips), DType::f32).to_vector<float>();
}

double unit(float v) { return std::clamp((double(v) + 1.0) / 2.0, 0.0, 1.0); }

// Linear (triangular) binning of v in [0, 1) into `bins` bins with centres (k + 0.5) / bins;
// values beyond the outer centres go wholly to the outer bins. Cyclic for orientations.
void soft_bin(double* hist, int bins, double position, double weight, bool cyclic) {
  const double x = position * bins - 0.5;  // in bin-centre units
  double lo = std::floor(x);
  const double frac = x - lo;
  int a = int(lo), b = a + 1;
  if (cyclic) {
    a = (a % bins + bins) % bins;
    b = (b % bins + bins) % bins;
  } else {
    a = std::clamp(a, 0, bins - 1);
    b = std::clamp(b, 0, bins - 1);
  }
  hist[a] += weight * (1.0 - frac);
  hist[b] += weight * frac;
}

void normalise_block(double* v, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += v[i] * v[i];
  if (s <= 0) return;  // an all-zero block (e.g. no gradients in a flat image) stays zero
  const double scale = 1.0 / (std::sqrt(s) * std::sqrt(3.0));
  for (int64_t i = 0; i < n; ++i) v[i] *= scale;
}

// One frame: plane c at rgb + c * plane, row stride w.
void describe_frame(const float* rgb, int64_t plane, int64_t h, int64_t w, double* out) {
  std::fill(out, out + kDescriptorSize, 0.0);
  double* colour = out;
  double* gradient = out + kColourSize;
  double* thumb = gradient + kGradientSize;
  // Cells: 0 the whole frame, 1..4 the quadrants (row-major; split at h/2, w/2).
  auto cells_of = [&](int64_t y, int64_t x, int* cells) {
    cells[0] = 0;
    cells[1] = 1 + int(y >= h / 2) * 2 + int(x >= w / 2);
  };
  const double cell_pixels[kCells] = {double(h * w), double((h / 2) * (w / 2)),
                                      double((h / 2) * (w - w / 2)), double((h - h / 2) * (w / 2)),
                                      double((h - h / 2) * (w - w / 2))};
  std::vector<double> luma(size_t(h * w));
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      const int64_t p = y * w + x;
      double v[3];
      for (int c = 0; c < 3; ++c) v[c] = unit(rgb[c * plane + p]);
      luma[size_t(p)] = 0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2];
      int cells[2];
      cells_of(y, x, cells);
      for (int cell : cells) {
        for (int c = 0; c < 3; ++c) {
          soft_bin(colour + (cell * 3 + c) * kColourBins, kColourBins, v[c], 1.0, false);
        }
      }
      const int64_t ty = y * kThumb / h, tx = x * kThumb / w;
      for (int c = 0; c < 3; ++c) thumb[(c * kThumb + ty) * kThumb + tx] += v[c];
    }
  }
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      // Central differences with replicated borders.
      const double gx = luma[size_t(y * w + std::min(x + 1, w - 1))] -
                        luma[size_t(y * w + std::max<int64_t>(x - 1, 0))];
      const double gy = luma[size_t(std::min(y + 1, h - 1) * w + x)] -
                        luma[size_t(std::max<int64_t>(y - 1, 0) * w + x)];
      const double magnitude = std::sqrt(gx * gx + gy * gy);
      if (magnitude == 0) continue;
      double angle = std::atan2(gy, gx);
      if (angle < 0) angle += 2 * std::numbers::pi;
      // Signed orientation bins centred on k * pi/4: shift by half a bin for soft_bin's centres.
      const double position = angle / (2 * std::numbers::pi) + 0.5 / kOrientationBins;
      int cells[2];
      cells_of(y, x, cells);
      for (int cell : cells) {
        soft_bin(gradient + cell * kOrientationBins, kOrientationBins, position, magnitude, true);
      }
    }
  }
  for (int cell = 0; cell < kCells; ++cell) {
    const double n = std::max(cell_pixels[cell], 1.0);
    for (int i = 0; i < 3 * kColourBins; ++i) colour[cell * 3 * kColourBins + i] /= n;
    for (int i = 0; i < kOrientationBins; ++i) gradient[cell * kOrientationBins + i] /= n;
  }
  for (int64_t c = 0; c < 3; ++c) {
    for (int64_t ty = 0; ty < kThumb; ++ty) {
      for (int64_t tx = 0; tx < kThumb; ++tx) {
        const int64_t rows = (ty + 1) * h / kThumb - ty * h / kThumb;
        const int64_t cols = (tx + 1) * w / kThumb - tx * w / kThumb;
        thumb[(c * kThumb + ty) * kThumb + tx] /= double(rows * cols);
      }
    }
  }
  normalise_block(colour, kColourSize);
  normalise_block(gradient, kGradientSize);
  normalise_block(thumb, kThumbSize);
}

using MatrixRM = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

Eigen::MatrixXd to_matrix(const std::vector<double>& a, int64_t n) {
  TRIP_CHECK(int64_t(a.size()) == n * n, "expected a {}x{} matrix, got {} values", n, n, a.size());
  return Eigen::Map<const MatrixRM>(a.data(), n, n);
}

Eigen::MatrixXd sqrt_psd(const Eigen::MatrixXd& a) {
  const Eigen::MatrixXd sym = 0.5 * (a + a.transpose());  // rounding may break exact symmetry
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(sym);
  TRIP_CHECK(solver.info() == Eigen::Success, "symmetric_sqrt: the eigen solver did not converge");
  const Eigen::VectorXd roots = solver.eigenvalues().cwiseMax(0.0).cwiseSqrt();
  return solver.eigenvectors() * roots.asDiagonal() * solver.eigenvectors().transpose();
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / double(v.size());
}

}  // namespace

Tensor frame_descriptors(const Tensor& clips) {
  const std::vector<float> x = host_clips(clips, "frame_descriptors");
  const int64_t n = clips.size(0), f = clips.size(2), h = clips.size(3), w = clips.size(4);
  TRIP_CHECK(h >= 4 && w >= 4, "frame_descriptors: frames must be at least 4x4, got {}x{}", h, w);
  std::vector<double> out(size_t(n * f * kDescriptorSize));
  const int64_t plane = f * h * w;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < f; ++k) {
      describe_frame(x.data() + i * 3 * plane + k * h * w, plane, h, w,
                     out.data() + (i * f + k) * kDescriptorSize);
    }
  }
  return from_vector(out, {n, f, kDescriptorSize}, {DType::f64});
}

double cosine(const double* a, const double* b, int64_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (int64_t i = 0; i < n; ++i) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  if (aa == 0 || bb == 0) return aa == bb ? 1.0 : 0.0;
  return ab / std::sqrt(aa * bb);
}

std::vector<double> psnr(const Tensor& a, const Tensor& b) {
  TRIP_CHECK(a.dim() == 4 && a.size(1) == 3 && a.shape() == b.shape(),
             "psnr: expected two image batches [N, 3, H, W] of one shape, got {} and {}", a.shape(),
             b.shape());
  const auto va = ops::to(ops::contiguous(a), DType::f32).to_vector<float>();
  const auto vb = ops::to(ops::contiguous(b), DType::f32).to_vector<float>();
  const int64_t n = a.size(0), per = a.numel() / std::max<int64_t>(n, 1);
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double se = 0;
    for (int64_t j = i * per; j < (i + 1) * per; ++j) {
      const double d = unit(va[size_t(j)]) - unit(vb[size_t(j)]);
      se += d * d;
    }
    const double mse = se / double(per);
    out[size_t(i)] = mse == 0 ? kMaxPsnr : std::min(kMaxPsnr, -10.0 * std::log10(mse));
  }
  return out;
}

std::vector<double> first_frame_consistency(const Tensor& descriptors, int64_t next) {
  TRIP_CHECK(descriptors.dim() == 3 && descriptors.dtype() == DType::f64,
             "first_frame_consistency: expected f64 descriptors [N, F, D], got {} {}",
             descriptors.dtype(), descriptors.shape());
  const auto d = ops::contiguous(descriptors).to_vector<double>();
  const int64_t n = descriptors.size(0), f = descriptors.size(1), dim = descriptors.size(2);
  const int64_t last = (next <= 0 || next >= f - 1) ? f - 1 : next;
  std::vector<double> out(size_t(n), 1.0);
  for (int64_t i = 0; i < n && last > 0; ++i) {
    const double* first = d.data() + i * f * dim;
    double s = 0;
    for (int64_t k = 1; k <= last; ++k) s += cosine(first, first + k * dim, dim);
    out[size_t(i)] = s / double(last);
  }
  return out;
}

std::vector<double> motion(const Tensor& clips) {
  const std::vector<float> x = host_clips(clips, "motion");
  const int64_t n = clips.size(0), f = clips.size(2), hw = clips.size(3) * clips.size(4);
  std::vector<double> out(size_t(n), 0.0);
  if (f < 2) return out;
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t c = 0; c < 3; ++c) {
      const float* plane = x.data() + (i * 3 + c) * f * hw;
      for (int64_t k = 1; k < f; ++k) {
        for (int64_t p = 0; p < hw; ++p) {
          s += std::abs(unit(plane[k * hw + p]) - unit(plane[(k - 1) * hw + p]));
        }
      }
    }
    out[size_t(i)] = s / double(3 * (f - 1) * hw);
  }
  return out;
}

Tensor clip_features(const Tensor& descriptors) {
  TRIP_CHECK(descriptors.dim() == 3 && descriptors.dtype() == DType::f64,
             "clip_features: expected f64 descriptors [N, F, D], got {} {}", descriptors.dtype(),
             descriptors.shape());
  const auto d = ops::contiguous(descriptors).to_vector<double>();
  const int64_t n = descriptors.size(0), f = descriptors.size(1), dim = descriptors.size(2);
  std::vector<double> out(size_t(n * 2 * dim), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    const double* clip = d.data() + i * f * dim;
    double* mean = out.data() + i * 2 * dim;
    double* change = mean + dim;
    for (int64_t k = 0; k < f; ++k) {
      for (int64_t j = 0; j < dim; ++j) {
        mean[j] += clip[k * dim + j] / double(f);
        if (k > 0)
          change[j] += std::abs(clip[k * dim + j] - clip[(k - 1) * dim + j]) / double(f - 1);
      }
    }
  }
  return from_vector(out, {n, 2 * dim}, {DType::f64});
}

std::vector<double> symmetric_sqrt(const std::vector<double>& a, int64_t n) {
  const Eigen::MatrixXd root = sqrt_psd(to_matrix(a, n));
  std::vector<double> out(size_t(n * n));
  Eigen::Map<MatrixRM>(out.data(), n, n) = root;
  return out;
}

void mean_and_covariance(const Tensor& features, std::vector<double>& mean,
                         std::vector<double>& covariance) {
  TRIP_CHECK(features.dim() == 2 && features.size(0) >= 1,
             "mean_and_covariance: expected features [N >= 1, D], got {}", features.shape());
  const auto v = ops::to(ops::contiguous(features), DType::f64).to_vector<double>();
  const int64_t n = features.size(0), d = features.size(1);
  const Eigen::Map<const MatrixRM> x(v.data(), n, d);
  const Eigen::RowVectorXd mu = x.colwise().mean();
  const Eigen::MatrixXd centred = x.rowwise() - mu;
  const Eigen::MatrixXd cov = n > 1 ? Eigen::MatrixXd(centred.transpose() * centred / double(n - 1))
                                    : Eigen::MatrixXd::Zero(d, d);
  mean.assign(mu.data(), mu.data() + d);
  covariance.resize(size_t(d * d));
  Eigen::Map<MatrixRM>(covariance.data(), d, d) = cov;
}

double frechet_distance(const std::vector<double>& mu1, const std::vector<double>& s1,
                        const std::vector<double>& mu2, const std::vector<double>& s2) {
  const int64_t d = int64_t(mu1.size());
  TRIP_CHECK(int64_t(mu2.size()) == d, "frechet_distance: means of {} and {} values", d,
             mu2.size());
  const Eigen::MatrixXd a = to_matrix(s1, d), b = to_matrix(s2, d);
  const Eigen::VectorXd diff = Eigen::Map<const Eigen::VectorXd>(mu1.data(), d) -
                               Eigen::Map<const Eigen::VectorXd>(mu2.data(), d);
  // tr((S1 S2)^1/2) = tr((S1^1/2 S2 S1^1/2)^1/2): the latter is symmetric PSD, so a symmetric
  // eigensolver gives its root stably (no complex parts as with a general sqrtm of S1 S2).
  const Eigen::MatrixXd root_a = sqrt_psd(a);
  const double cross = sqrt_psd(root_a * b * root_a).trace();
  // Rounding can take a distance of ~0 slightly below 0.
  return std::max(0.0, diff.squaredNorm() + a.trace() + b.trace() - 2.0 * cross);
}

double frechet_distance(const Tensor& features_a, const Tensor& features_b) {
  TRIP_CHECK(
      features_a.dim() == 2 && features_b.dim() == 2 && features_a.size(1) == features_b.size(1),
      "frechet_distance: expected features [N1, D] and [N2, D], got {} and {}", features_a.shape(),
      features_b.shape());
  std::vector<double> m1, s1, m2, s2;
  mean_and_covariance(features_a, m1, s1);
  mean_and_covariance(features_b, m2, s2);
  return frechet_distance(m1, s1, m2, s2);
}

double motion_tracking(const Tensor& generated, const Tensor& real) {
  TRIP_CHECK(generated.shape() == real.shape(),
             "motion_tracking: generated clips {} and real clips {} must have one shape",
             generated.shape(), real.shape());
  const std::vector<float> g = host_clips(generated, "motion_tracking");
  const std::vector<float> r = host_clips(real, "motion_tracking");
  const int64_t planes = real.size(0) * 3, f = real.size(2), hw = real.size(3) * real.size(4);
  double from_first = 0, from_real = 0;
  for (int64_t plane = 0; plane < planes; ++plane) {
    const float* gp = g.data() + plane * f * hw;
    const float* rp = r.data() + plane * f * hw;
    for (int64_t k = 1; k < f; ++k) {
      for (int64_t p = 0; p < hw; ++p) {
        const double gk = unit(gp[k * hw + p]);
        const double to_first = gk - unit(rp[p]), to_real = gk - unit(rp[k * hw + p]);
        from_first += to_first * to_first;
        from_real += to_real * to_real;
      }
    }
  }
  return from_first + from_real > 0 ? from_first / (from_first + from_real) : NAN;
}

ClipMetrics evaluate_clips(const Tensor& generated, const Tensor& real) {
  TRIP_CHECK(generated.dim() == 5 && generated.shape() == real.shape(),
             "evaluate_clips: generated clips {} and real clips {} must have one shape "
             "[N, 3, F, H, W]",
             generated.shape(), real.shape());
  ClipMetrics m;
  m.clips = generated.size(0);
  m.frames = generated.size(2);
  m.psnr_first = mean_of(psnr(ops::select(generated, 2, 0), ops::select(real, 2, 0)));
  const Tensor dg = frame_descriptors(generated), dr = frame_descriptors(real);
  m.f_consistency_4 = 100.0 * mean_of(first_frame_consistency(dg, 4));
  m.f_consistency_all = 100.0 * mean_of(first_frame_consistency(dg, 0));
  m.real_f_consistency_4 = 100.0 * mean_of(first_frame_consistency(dr, 4));
  m.real_f_consistency_all = 100.0 * mean_of(first_frame_consistency(dr, 0));
  m.motion_generated = mean_of(motion(generated));
  m.motion_real = mean_of(motion(real));
  m.motion_ratio = m.motion_real > 0 ? m.motion_generated / m.motion_real : NAN;
  m.motion_tracking = motion_tracking(generated, real);
  m.fd = frechet_distance(clip_features(dg), clip_features(dr));
  return m;
}

std::string ClipMetrics::to_json() const {
  auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
  const nlohmann::json j = {{"clips", clips},
                            {"frames", frames},
                            {"psnr_first", number(psnr_first)},
                            {"f_consistency_4", number(f_consistency_4)},
                            {"f_consistency_all", number(f_consistency_all)},
                            {"real_f_consistency_4", number(real_f_consistency_4)},
                            {"real_f_consistency_all", number(real_f_consistency_all)},
                            {"motion_generated", number(motion_generated)},
                            {"motion_real", number(motion_real)},
                            {"motion_ratio", number(motion_ratio)},
                            {"motion_tracking", number(motion_tracking)},
                            {"fd", number(fd)}};
  return j.dump();
}

}  // namespace trip::eval
