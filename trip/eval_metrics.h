// defines: the evaluation metrics of `trip eval` / `trip ablate` (trip/README.md, "Evaluation"):
// a fixed hand-made frame descriptor standing in for CLIP image features, first-frame PSNR,
// first-frame consistency (the paper's F-Consistency_4 / _all, in our feature space), motion,
// per-clip features and the Frechet distance between two sets of clips (our stand-in for FVD).
// Clips are float tensors [N, 3, F, H, W] in [-1, 1] (pixel space, as TripModel::sample returns);
// every metric works on pixel values mapped to [0, 1] and clamped there.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace trip::eval {

// Frame descriptor: 120 colour-histogram values, 40 gradient-orientation values, 48 thumbnail
// values (layout and normalisation in eval_metrics.cpp and trip/README.md).
inline constexpr int64_t kDescriptorSize = 208;
// Per-clip feature: the mean frame descriptor and the mean absolute frame-to-frame change of
// the descriptor.
inline constexpr int64_t kClipFeatureSize = 2 * kDescriptorSize;
inline constexpr double kMaxPsnr = 100.0;  // PSNR of identical images (instead of infinity)

// Descriptors of every frame: clips [N, 3, F, H, W] (H, W >= 4) -> f64 [N, F, kDescriptorSize].
Tensor frame_descriptors(const Tensor& clips);
// Cosine similarity of two descriptors (rows of frame_descriptors).
double cosine(const double* a, const double* b, int64_t n);

// PSNR in dB of images a vs b [N, 3, H, W] (in [-1, 1], peak 1 after mapping to [0, 1]), one
// value per image, kMaxPsnr when identical.
std::vector<double> psnr(const Tensor& a, const Tensor& b);
// Mean cosine similarity of each clip's first-frame descriptor with those of frames 2..1+next
// (next <= 0 or >= F - 1: all later frames); 1 for a one-frame clip. One value per clip.
std::vector<double> first_frame_consistency(const Tensor& descriptors, int64_t next);
// Mean absolute change between consecutive frames, per pixel and channel on the [0, 1] scale;
// 0 for a one-frame clip. One value per clip.
std::vector<double> motion(const Tensor& clips);
// Motion tracking: whether the generated later frames went where the real clip went or stayed at
// the first frame. With a = sum (g_f - r_1)^2 (distance from the real first frame) and
// b = sum (g_f - r_f)^2 (distance from the real frame f) over clips, frames 2..F, pixels and
// channels ([0, 1] scale): a / (a + b). 1: the real clip itself; 0: a frozen video (the first
// frame repeated); 0.5: as close to the real motion as to standing still. Blur and noise add to
// a and b alike, so they pull towards 0.5 rather than rewarding either. NaN when both are 0.
double motion_tracking(const Tensor& generated, const Tensor& real);
// Per-clip features from frame descriptors [N, F, D] -> f64 [N, 2D].
Tensor clip_features(const Tensor& descriptors);

// The symmetric square root of a symmetric positive semi-definite n x n matrix (row-major), by
// eigendecomposition; negative eigenvalues from rounding are clamped to 0.
std::vector<double> symmetric_sqrt(const std::vector<double>& a, int64_t n);
// Mean [D] and covariance [D x D] (unbiased, N - 1; zero for a single row) of features [N, D].
void mean_and_covariance(const Tensor& features, std::vector<double>& mean,
                         std::vector<double>& covariance);
// Frechet distance of two Gaussians: |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2).
double frechet_distance(const std::vector<double>& mu1, const std::vector<double>& s1,
                        const std::vector<double>& mu2, const std::vector<double>& s2);
// The same between two feature sets [N1, D] and [N2, D].
double frechet_distance(const Tensor& features_a, const Tensor& features_b);

// Everything `trip eval` reports for generated clips against the real clips they started from
// (same N, F, H, W; generated frame 1 is compared with the real frame 1, the given image).
// Consistencies are in percent (cosine x 100, as the paper prints them).
struct ClipMetrics {
  int64_t clips = 0, frames = 0;
  double psnr_first = 0;                                        // mean over clips, dB
  double f_consistency_4 = 0, f_consistency_all = 0;            // generated clips
  double real_f_consistency_4 = 0, real_f_consistency_all = 0;  // real clips (reference)
  double motion_generated = 0, motion_real = 0;
  double motion_ratio = 0;      // generated / real; NaN when the real clips do not move
  double motion_tracking = 0;   // generated vs real later frames, see motion_tracking above
  double fd = 0;                // Frechet distance of clip features, generated vs real
  std::string to_json() const;  // NaN written as null
};
ClipMetrics evaluate_clips(const Tensor& generated, const Tensor& real);

}  // namespace trip::eval
