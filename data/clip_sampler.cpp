#include "data/clip_sampler.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "data/rng.h"
#include "tensor/error.h"

namespace trip::data {

namespace {

// Nearest integer, halves up; the epsilon keeps k * 7.5 = 22.5 from landing on 22.4999.
int64_t round_half_up(double x) { return int64_t(std::floor(x + 0.5 + 1e-9)); }

void check_rates(double native_fps, int64_t count, double target_fps) {
  TRIP_CHECK(native_fps > 0 && target_fps > 0 && count > 0,
             "clip sampling: native fps {}, target fps {} and frame count {} must be positive",
             native_fps, target_fps, count);
}

// Sampling weights of one axis: output o reads inputs [first, first + weights.size()).
struct Taps {
  int64_t first = 0;
  std::vector<float> weights;
};

std::vector<Taps> axis_taps(int64_t in, int64_t out) {
  std::vector<Taps> taps(static_cast<size_t>(out));
  const double scale = double(in) / double(out);
  for (int64_t o = 0; o < out; ++o) {
    Taps& t = taps[size_t(o)];
    if (in >= out) {
      // Area: output o averages the input interval [o * scale, (o + 1) * scale), partial pixels
      // weighted by their overlap.
      const double lo = o * scale, hi = (o + 1) * scale;
      t.first = int64_t(std::floor(lo));
      const int64_t last = std::min<int64_t>(in - 1, int64_t(std::ceil(hi)) - 1);
      for (int64_t i = t.first; i <= last; ++i) {
        const double overlap = std::min(hi, double(i + 1)) - std::max(lo, double(i));
        t.weights.push_back(float(std::max(0.0, overlap) / scale));
      }
    } else {
      // Bilinear with half-pixel centres (align_corners = false), edges clamped.
      const double src = std::clamp((o + 0.5) * scale - 0.5, 0.0, double(in - 1));
      t.first = std::min<int64_t>(int64_t(std::floor(src)), in - 2 < 0 ? 0 : in - 2);
      const double frac = src - double(t.first);
      t.weights =
          in == 1 ? std::vector<float>{1.0f} : std::vector<float>{float(1.0 - frac), float(frac)};
    }
  }
  return taps;
}

}  // namespace

int64_t clip_span(double native_fps, int64_t count, double target_fps) {
  check_rates(native_fps, count, target_fps);
  return round_half_up(double(count - 1) * native_fps / target_fps);
}

std::vector<int64_t> clip_frame_indices(int64_t native_frames, double native_fps, int64_t count,
                                        double target_fps, int64_t start, ShortVideo rule) {
  check_rates(native_fps, count, target_fps);
  TRIP_CHECK(native_frames > 0 && start >= 0 && start < native_frames,
             "clip sampling: start {} is not a frame of a {}-frame video", start, native_frames);
  const double ratio = native_fps / target_fps;
  std::vector<int64_t> indices(static_cast<size_t>(count));
  for (int64_t k = 0; k < count; ++k) {
    const int64_t f = start + round_half_up(double(k) * ratio);
    TRIP_CHECK(f < native_frames || rule == ShortVideo::repeat_last,
               "clip sampling: {} frames at {} fps from frame {} need frame {}, but the video "
               "has {} frames at {} fps",
               count, target_fps, start, f, native_frames, native_fps);
    indices[size_t(k)] = std::min(f, native_frames - 1);
  }
  return indices;
}

bool clip_fits(const VideoInfo& info, const ClipOptions& options) {
  return clip_span(info.fps, options.frames, options.fps) <= info.frames - 1;
}

ClipPlan plan_clip(const VideoInfo& info, const ClipOptions& options, uint64_t seed) {
  TRIP_CHECK(info.frames > 0 && info.height > 0 && info.width > 0,
             "plan_clip: video '{}' has {} frames of {}x{}", info.origin, info.frames, info.width,
             info.height);
  TRIP_CHECK(options.size > 0, "plan_clip: clip size {} must be positive", options.size);
  SplitMix64 rng(seed);
  const int64_t span = clip_span(info.fps, options.frames, options.fps);
  const int64_t starts = std::max<int64_t>(1, info.frames - span);  // valid starts: [0, starts)
  const int64_t start = rng.below(starts);
  ClipPlan plan;
  plan.frames = clip_frame_indices(info.frames, info.fps, options.frames, options.fps, start,
                                   options.short_video);
  plan.crop_side = std::min(info.height, info.width);
  plan.size = options.size;
  const int64_t room_y = info.height - plan.crop_side, room_x = info.width - plan.crop_side;
  if (options.crop == Crop::random) {
    plan.crop_y = rng.below(room_y + 1);
    plan.crop_x = rng.below(room_x + 1);
  } else {
    plan.crop_y = room_y / 2;
    plan.crop_x = room_x / 2;
  }
  return plan;
}

Tensor resize_crop(const Video& frames, int64_t crop_y, int64_t crop_x, int64_t side,
                   int64_t size) {
  frames.validate();
  TRIP_CHECK(side > 0 && size > 0 && crop_y >= 0 && crop_x >= 0 && crop_y + side <= frames.height &&
                 crop_x + side <= frames.width,
             "resize_crop: square of side {} at (y {}, x {}) to {}x{} does not fit a {}x{} video",
             side, crop_y, crop_x, size, size, frames.width, frames.height);
  const std::vector<Taps> taps = axis_taps(side, size);
  const int64_t F = frames.frames, W = frames.width, S = size, plane = S * S;
  std::vector<float> out(size_t(3 * F * plane));
  std::vector<float> rows(size_t(side * S * 3));  // crop rows resampled horizontally: [side][S][3]
  for (int64_t f = 0; f < F; ++f) {
    const uint8_t* src = frames.frame(f);
    for (int64_t y = 0; y < side; ++y) {
      const uint8_t* row = src + ((crop_y + y) * W + crop_x) * 3;
      for (int64_t x = 0; x < S; ++x) {
        const Taps& t = taps[size_t(x)];
        float acc[3] = {0, 0, 0};
        for (size_t j = 0; j < t.weights.size(); ++j)
          for (int c = 0; c < 3; ++c)
            acc[c] += t.weights[j] * float(row[(t.first + int64_t(j)) * 3 + c]);
        for (int c = 0; c < 3; ++c) rows[size_t((y * S + x) * 3 + c)] = acc[c];
      }
    }
    for (int64_t y = 0; y < S; ++y) {
      const Taps& t = taps[size_t(y)];
      for (int64_t x = 0; x < S; ++x) {
        float acc[3] = {0, 0, 0};
        for (size_t j = 0; j < t.weights.size(); ++j)
          for (int c = 0; c < 3; ++c)
            acc[c] += t.weights[j] * rows[size_t(((t.first + int64_t(j)) * S + x) * 3 + c)];
        for (int c = 0; c < 3; ++c)
          out[size_t((c * F + f) * plane + y * S + x)] = acc[c] / 127.5f - 1.0f;
      }
    }
  }
  return from_vector(out, {3, F, S, S});
}

VideoInfo info_of(const Video& video) {
  return {video.frames, video.height, video.width, video.fps, video.caption, video.origin};
}

Tensor sample_clip(const Video& video, const ClipOptions& options, uint64_t seed) {
  video.validate();
  const ClipPlan plan = plan_clip(info_of(video), options, seed);
  Video gathered(int64_t(plan.frames.size()), video.height, video.width, video.fps);
  for (size_t k = 0; k < plan.frames.size(); ++k)
    std::memcpy(gathered.frame(int64_t(k)), video.frame(plan.frames[k]), video.frame_bytes());
  return resize_crop(gathered, plan.crop_y, plan.crop_x, plan.crop_side, plan.size);
}

Tensor sample_clip(const ClipDataset& dataset, int64_t index, const ClipOptions& options,
                   uint64_t seed) {
  const ClipPlan plan = plan_clip(dataset.info(index), options, seed);
  const Video gathered = dataset.read_frames(index, plan.frames);
  return resize_crop(gathered, plan.crop_y, plan.crop_x, plan.crop_side, plan.size);
}

}  // namespace trip::data
