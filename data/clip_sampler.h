// defines: clip sampling at load time: which native frames make a clip of N frames at a target
// frame rate (clip_frame_indices), where the clip starts and where the square crop sits
// (plan_clip, drawn from a seed), and the resize/crop to the model's size S as a tensor
// [3, N, S, S] in [-1, 1] (resize_crop, sample_clip). The rules are in data/README.md.
#pragma once
#include <cstdint>
#include <vector>

#include "data/dataset.h"
#include "data/video.h"
#include "tensor/tensor.h"

namespace trip::data {

enum class Crop { center, random };
// A video shorter than the clip's span: repeat its last frame, or throw. (The loader can also
// skip such videos: LoaderOptions::skip_short.)
enum class ShortVideo { repeat_last, error };

struct ClipOptions {
  int64_t frames = 8;  // N frames per clip
  double fps = 4.0;    // target frame rate: frame k is taken at time start + k / fps
  int64_t size = 32;   // S: clips are S x S
  Crop crop = Crop::random;
  ShortVideo short_video = ShortVideo::repeat_last;
};

// Native frame index of clip frame k for a clip starting at native frame `start`: the native
// frame nearest to time start / native_fps + k / target_fps, i.e. start + round(k * native_fps /
// target_fps) (halves round up). Frames past the end are clamped to the last frame (repeat_last)
// or are an error.
std::vector<int64_t> clip_frame_indices(int64_t native_frames, double native_fps, int64_t count,
                                        double target_fps, int64_t start = 0,
                                        ShortVideo rule = ShortVideo::repeat_last);
// Native frames from the clip's first to its last frame: round((count - 1) * native / target).
int64_t clip_span(double native_fps, int64_t count, double target_fps);
// Whether a whole clip fits in the video (span <= frames - 1).
bool clip_fits(const VideoInfo& info, const ClipOptions& options);

// Where one clip comes from: native frame indices, and the square crop (side = the video's short
// side) that is resized to options.size.
struct ClipPlan {
  std::vector<int64_t> frames;
  int64_t crop_y = 0, crop_x = 0, crop_side = 0, size = 0;
};
// The start is uniform over the starts whose whole clip fits (0 when none does); a random crop is
// uniform over the offsets that fit. All draws come from SplitMix64(seed): the same seed gives
// the same plan on any thread.
ClipPlan plan_clip(const VideoInfo& info, const ClipOptions& options, uint64_t seed);

// All frames of `frames`, cropped to the square (crop_y, crop_x, side) and resized to size x size
// (area averaging when shrinking, bilinear with half-pixel centres when enlarging), as a float
// tensor [3, F, size, size] scaled to [-1, 1].
Tensor resize_crop(const Video& frames, int64_t crop_y, int64_t crop_x, int64_t side, int64_t size);

// plan_clip + gather + resize_crop on a video in memory.
Tensor sample_clip(const Video& video, const ClipOptions& options, uint64_t seed);
// The same from a dataset, reading only the clip's frames.
Tensor sample_clip(const ClipDataset& dataset, int64_t index, const ClipOptions& options,
                   uint64_t seed);

VideoInfo info_of(const Video& video);

}  // namespace trip::data
