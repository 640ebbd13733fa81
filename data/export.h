// defines: the writers of videos for people to look at: animated GIF and H.264 MP4 through the
// ffmpeg program, and PNG frame strips (frames side by side) and grids (one row per video).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/image.h"
#include "data/video.h"

namespace trip::data {

struct GifOptions {
  // Nearest-neighbour upscale factor; 0 picks max(1, 128 / max(height, width)), so a 32x32 clip
  // becomes 128x128 (x4) and pixels stay sharp squares.
  int scale = 0;
  int loop = 0;  // 0: loop forever; -1: play once; n: repeat n times
  // paletteuse dithering: "none" keeps flat colours exact, "bayer", "sierra2_4a" (ffmpeg default).
  std::string dither = "sierra2_4a";
};

struct Mp4Options {
  int scale = 0;  // nearest-neighbour upscale; 0: as for GIF
  int crf = 18;   // libx264 quality (0 lossless luma .. 51; 18 looks lossless)
  std::string preset = "medium";
};

// Writes `video` as an animated GIF at its fps (GIF stores delays in 1/100 s: 8 fps becomes
// alternating 12/13 cs). One palette for the whole clip from ffmpeg's palettegen.
void save_gif(const Video& video, const std::string& path, const GifOptions& options = {});
// Writes `video` as MP4 (H.264 High, yuv420p, +faststart: plays in browsers and players). Odd
// widths or heights (after the upscale) are padded by one black row/column: 4:2:0 needs them even.
void save_mp4(const Video& video, const std::string& path, const Mp4Options& options = {});

// The frames of `video` side by side, each `scale` times larger (nearest neighbour), separated by
// `separator` pixels of `separator_value` grey.
Image strip_image(const Video& video, int scale = 1, int separator = 2,
                  uint8_t separator_value = 255);
// One row per video, frames side by side; all videos must have the same height and width, shorter
// videos leave their trailing cells in the separator colour.
Image grid_image(const std::vector<Video>& videos, int scale = 1, int separator = 2,
                 uint8_t separator_value = 255);
void save_strip(const Video& video, const std::string& path, int scale = 1);
void save_grid(const std::vector<Video>& videos, const std::string& path, int scale = 1);

// By extension: ".gif", ".mp4", ".png" (a strip at `scale`, 0 meaning 1); others are an error.
void save_video(const Video& video, const std::string& path, int scale = 0);

// Throws a trip::Error saying how to install ffmpeg when `program` ("ffmpeg", "ffprobe") is not
// on PATH; `what` names the caller.
void require_ffmpeg(const char* what, const char* program = "ffmpeg");

}  // namespace trip::data
