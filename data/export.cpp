#include "data/export.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>

#include "data/atomic_file.h"
#include "data/process.h"
#include "tensor/error.h"

namespace trip::data {

namespace {

int auto_scale(const Video& video, int scale) {
  TRIP_CHECK(scale >= 0 && scale <= 64, "video export: scale {} is outside 0..64", scale);
  if (scale > 0) return scale;
  return std::max<int>(1, static_cast<int>(128 / std::max(video.height, video.width)));
}

// The raw-frame input part of every export: rgb24 frames of WxH at the video's rate on stdin.
std::vector<std::string> rawvideo_input(const Video& video) {
  return {"ffmpeg",
          "-hide_banner",
          "-nostats",
          "-loglevel",
          "error",
          "-f",
          "rawvideo",
          "-pix_fmt",
          "rgb24",
          "-s",
          fmt::format("{}x{}", video.width, video.height),
          "-framerate",
          fmt::format("{}", video.fps),
          "-i",
          "-"};
}

void encode(const char* what, const Video& video, std::vector<std::string> argv,
            const std::string& path) {
  require_ffmpeg(what);
  PendingFile pending(path);
  argv.push_back("-y");
  argv.push_back(pending.temporary());
  const ProcessResult result = run_process(argv, video.rgb);
  TRIP_CHECK(result.ok(), "{}: ffmpeg could not write '{}': {}", what, path, result.describe());
  pending.commit();
}

std::string upscale_filter(int scale) {
  return scale == 1 ? "" : fmt::format("scale=iw*{0}:ih*{0}:flags=neighbor,", scale);
}

}  // namespace

void require_ffmpeg(const char* what, const char* program) {
  TRIP_CHECK(!find_program(program).empty(),
             "{}: the '{}' program is not installed or not on PATH; install ffmpeg (Debian/Ubuntu: "
             "apt-get install ffmpeg, which scripts/setup does)",
             what, program);
}

void save_gif(const Video& video, const std::string& path, const GifOptions& options) {
  video.validate();
  const int scale = auto_scale(video, options.scale);
  TRIP_CHECK(options.loop >= -1, "save_gif: loop {} must be -1 (once), 0 (forever) or a count",
             options.loop);
  TRIP_CHECK(!options.dither.empty() &&
                 std::all_of(options.dither.begin(), options.dither.end(),
                             [](unsigned char c) { return std::isalnum(c) || c == '_'; }),
             "save_gif: dither '{}' is not a paletteuse dither name", options.dither);
  auto argv = rawvideo_input(video);
  // One palette for the clip (palettegen sees every frame), then mapped with paletteuse.
  const std::string graph =
      fmt::format("{}split[a][b];[a]palettegen=reserve_transparent=0[p];[b][p]paletteuse=dither={}",
                  upscale_filter(scale), options.dither);
  for (const char* a : {"-vf", graph.c_str(), "-loop"}) argv.push_back(a);
  argv.push_back(std::to_string(options.loop));
  argv.push_back("-f");
  argv.push_back("gif");
  encode("save_gif", video, argv, path);
}

void save_mp4(const Video& video, const std::string& path, const Mp4Options& options) {
  video.validate();
  const int scale = auto_scale(video, options.scale);
  TRIP_CHECK(options.crf >= 0 && options.crf <= 51, "save_mp4: crf {} is outside 0..51",
             options.crf);
  auto argv = rawvideo_input(video);
  const std::string graph = upscale_filter(scale) + "pad=ceil(iw/2)*2:ceil(ih/2)*2";
  for (const std::string& a :
       {std::string("-vf"), graph, std::string("-c:v"), std::string("libx264"),
        std::string("-preset"), options.preset, std::string("-crf"), std::to_string(options.crf),
        std::string("-pix_fmt"), std::string("yuv420p"), std::string("-movflags"),
        std::string("+faststart"), std::string("-f"), std::string("mp4")})
    argv.push_back(a);
  encode("save_mp4", video, argv, path);
}

Image grid_image(const std::vector<Video>& videos, int scale, int separator,
                 uint8_t separator_value) {
  TRIP_CHECK(!videos.empty(), "grid_image: no videos");
  TRIP_CHECK(scale >= 1 && scale <= 64, "grid_image: scale {} is outside 1..64", scale);
  TRIP_CHECK(separator >= 0 && separator <= 64, "grid_image: separator {} is outside 0..64",
             separator);
  int64_t columns = 0;
  for (size_t v = 0; v < videos.size(); ++v) {
    videos[v].validate();
    TRIP_CHECK(videos[v].height == videos[0].height && videos[v].width == videos[0].width,
               "grid_image: video {} is {}x{}, video 0 {}x{}: all must have the same size", v,
               videos[v].width, videos[v].height, videos[0].width, videos[0].height);
    columns = std::max(columns, videos[v].frames);
  }
  const int64_t cell_h = videos[0].height * scale, cell_w = videos[0].width * scale;
  const int64_t rows = static_cast<int64_t>(videos.size());
  Image grid(rows * cell_h + (rows - 1) * separator, columns * cell_w + (columns - 1) * separator,
             separator_value);
  for (int64_t r = 0; r < rows; ++r) {
    const Video& video = videos[static_cast<size_t>(r)];
    for (int64_t f = 0; f < video.frames; ++f) {
      const uint8_t* src = video.frame(f);
      const int64_t y0 = r * (cell_h + separator), x0 = f * (cell_w + separator);
      for (int64_t y = 0; y < cell_h; ++y) {
        const uint8_t* row = src + (y / scale) * video.width * 3;
        uint8_t* dst = grid.pixel(y0 + y, x0);
        for (int64_t x = 0; x < cell_w; ++x) std::memcpy(dst + x * 3, row + (x / scale) * 3, 3);
      }
    }
  }
  return grid;
}

Image strip_image(const Video& video, int scale, int separator, uint8_t separator_value) {
  return grid_image({video}, scale, separator, separator_value);
}

void save_strip(const Video& video, const std::string& path, int scale) {
  save_png(strip_image(video, scale), path);
}

void save_grid(const std::vector<Video>& videos, const std::string& path, int scale) {
  save_png(grid_image(videos, scale), path);
}

void save_video(const Video& video, const std::string& path, int scale) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".gif") return save_gif(video, path, GifOptions{.scale = scale});
  if (ext == ".mp4") return save_mp4(video, path, Mp4Options{.scale = scale});
  if (ext == ".png") return save_strip(video, path, std::max(scale, 1));
  fail("save_video: cannot tell the format of '{}' (use .gif, .mp4 or .png)", path);
}

}  // namespace trip::data
