// defines: Video, a clip of 8-bit RGB frames at its native frame rate with its caption: the unit
// the dataset stores, the synthesiser and importers produce and the exporters write.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace trip::data {

struct Video {
  int64_t frames = 0, height = 0, width = 0;
  double fps = 0;            // native frame rate
  std::string caption;       // what moves and how ("a red circle moves left")
  std::string origin;        // where it came from: "synthetic:<kind>:<seed>", a file path, a URL
  std::vector<uint8_t> rgb;  // frames x height x width x 3, row-major, interleaved RGB

  Video() = default;
  Video(int64_t frames, int64_t height, int64_t width, double fps);  // black frames

  size_t frame_bytes() const { return static_cast<size_t>(height * width * 3); }
  uint8_t* frame(int64_t f) { return rgb.data() + static_cast<size_t>(f) * frame_bytes(); }
  const uint8_t* frame(int64_t f) const {
    return rgb.data() + static_cast<size_t>(f) * frame_bytes();
  }
  // Throws trip::Error naming the problem: non-positive sizes or fps, pixel count mismatch.
  void validate() const;
};

// Frames [first, first + count) as a float tensor [3, count, H, W] scaled to [-1, 1] (x / 127.5 -
// 1), the model's [C, F, H, W] layout.
Tensor to_tensor(const Video& video, int64_t first = 0, int64_t count = -1);
// The inverse: a tensor [3, F, H, W] (values clamped to [-1, 1], rounded) as frames at `fps`.
Video from_tensor(const Tensor& clip, double fps);

}  // namespace trip::data
