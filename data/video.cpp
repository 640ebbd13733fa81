#include "data/video.h"

#include <algorithm>
#include <cmath>

#include "tensor/error.h"
#include "tensor/ops.h"

namespace trip::data {

Video::Video(int64_t f, int64_t h, int64_t w, double rate)
    : frames(f), height(h), width(w), fps(rate) {
  TRIP_CHECK(f > 0 && h > 0 && w > 0 && rate > 0,
             "Video: frames {}, height {}, width {} and fps {} must be positive", f, h, w, rate);
  rgb.assign(static_cast<size_t>(f * h * w * 3), 0);
}

void Video::validate() const {
  TRIP_CHECK(frames > 0 && height > 0 && width > 0 && fps > 0,
             "Video '{}': frames {}, height {}, width {} and fps {} must be positive", origin,
             frames, height, width, fps);
  TRIP_CHECK(rgb.size() == static_cast<size_t>(frames) * frame_bytes(),
             "Video '{}': {} bytes of pixels for {} frames of {}x{} RGB (expected {})", origin,
             rgb.size(), frames, width, height, static_cast<size_t>(frames) * frame_bytes());
}

Tensor to_tensor(const Video& video, int64_t first, int64_t count) {
  video.validate();
  if (count < 0) count = video.frames - first;
  TRIP_CHECK(first >= 0 && count > 0 && first + count <= video.frames,
             "to_tensor: frames [{}, {}) are outside the video's {} frames", first, first + count,
             video.frames);
  const int64_t H = video.height, W = video.width, plane = H * W;
  std::vector<float> values(static_cast<size_t>(3 * count * plane));
  for (int64_t f = 0; f < count; ++f) {
    const uint8_t* src = video.frame(first + f);
    for (int64_t p = 0; p < plane; ++p) {
      for (int64_t c = 0; c < 3; ++c) {
        values[static_cast<size_t>((c * count + f) * plane + p)] =
            float(src[p * 3 + c]) / 127.5f - 1.0f;
      }
    }
  }
  return from_vector(values, {3, count, H, W});
}

Video from_tensor(const Tensor& clip, double fps) {
  TRIP_CHECK(clip.dim() == 4 && clip.size(0) == 3,
             "from_tensor: expected a clip [3, F, H, W], got {}", clip.shape());
  const int64_t F = clip.size(1), H = clip.size(2), W = clip.size(3), plane = H * W;
  const std::vector<float> values =
      ops::contiguous(ops::to(ops::to(clip, kCPU), DType::f32)).to_vector<float>();
  Video video(F, H, W, fps);
  for (int64_t f = 0; f < F; ++f) {
    uint8_t* dst = video.frame(f);
    for (int64_t p = 0; p < plane; ++p) {
      for (int64_t c = 0; c < 3; ++c) {
        const float v = values[static_cast<size_t>((c * F + f) * plane + p)];
        const float scaled = (std::clamp(std::isnan(v) ? 0.0f : v, -1.0f, 1.0f) + 1.0f) * 127.5f;
        dst[p * 3 + c] = static_cast<uint8_t>(std::lround(scaled));
      }
    }
  }
  return video;
}

}  // namespace trip::data
