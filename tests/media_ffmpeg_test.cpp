// data/: GIF and MP4 export and video import through ffmpeg (skipped with a message when ffmpeg is
// not installed): sizes and frame counts by ffprobe, pixels after a lossy round trip, the fit
// modes, captions, broken inputs.
#include <doctest/doctest.h>

#include <cstdlib>

#include "data/captions.h"
#include "data/dataset.h"
#include "data/export.h"
#include "data/import.h"
#include "data/process.h"
#include "media_test_util.h"
#include "tensor/error.h"

using namespace trip;
using media_test::error_of;
using media_test::ScratchDir;

namespace {

bool have_ffmpeg() {
  const bool ok = !data::find_program("ffmpeg").empty() && !data::find_program("ffprobe").empty();
  if (!ok) MESSAGE("skipped: ffmpeg/ffprobe are not installed (apt-get install ffmpeg)");
  return ok;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A video of the left quarter red, the middle half green, the right quarter blue.
data::Video three_bands(int64_t frames, int64_t height, int64_t width) {
  data::Video video(frames, height, width, 10.0);
  for (int64_t f = 0; f < frames; ++f)
    for (int64_t y = 0; y < height; ++y)
      for (int64_t x = 0; x < width; ++x) {
        uint8_t* p = video.frame(f) + (y * width + x) * 3;
        const int band = x < width / 4 ? 0 : x < 3 * width / 4 ? 1 : 2;
        p[band] = 255;
      }
  return video;
}

}  // namespace

TEST_CASE("GIF export: x4 upscale, frame count and rate; import recovers the pixels") {
  if (!have_ffmpeg()) return;
  ScratchDir dir("gif");
  const data::Video clip = media_test::moving_square(6, 32, 32, 8.0);
  data::save_gif(clip, dir / "clip.gif", {.dither = "none"});
  CHECK(dir.entries() == 1);
  const data::StreamInfo info = data::probe_video(dir / "clip.gif");
  CHECK(info.codec == "gif");
  CHECK(info.width == 128);
  CHECK(info.height == 128);
  CHECK(info.fps == doctest::Approx(8.0));

  const data::Video big = data::import_video(dir / "clip.gif", {.height = 0, .width = 0});
  CHECK(big.frames == 6);
  CHECK(big.width == 128);
  const data::Video back = data::import_video(dir / "clip.gif", {.height = 32, .width = 32});
  REQUIRE(back.frames == 6);
  REQUIRE(back.rgb.size() == clip.rgb.size());
  CHECK(back.fps == doctest::Approx(8.0));
  CHECK(back.origin == dir / "clip.gif");
  // Fewer than 256 colours and flat 4x4 blocks: the palette and the area downscale are near exact.
  CHECK(media_test::mean_abs_error(back.rgb, clip.rgb) < 2.0);
}

TEST_CASE("MP4 export: H.264 yuv420p, odd sizes padded even; import within a lossy bound") {
  if (!have_ffmpeg()) return;
  ScratchDir dir("mp4");
  const data::Video clip = media_test::moving_square(7, 32, 32, 12.0);
  data::save_mp4(clip, dir / "clip.mp4");
  const data::StreamInfo info = data::probe_video(dir / "clip.mp4");
  CHECK(info.codec == "h264");
  CHECK(info.width == 128);
  CHECK(info.height == 128);
  CHECK(info.frames == 7);
  CHECK(info.fps == doctest::Approx(12.0));
  const data::Video back = data::import_video(dir / "clip.mp4", {.height = 32, .width = 32});
  REQUIRE(back.frames == 7);
  CHECK(back.fps == doctest::Approx(12.0));
  const double error = media_test::mean_abs_error(back.rgb, clip.rgb);
  MESSAGE("MP4 round trip mean abs error ", error);
  CHECK(error < 6.0);

  const data::Video odd = media_test::moving_square(3, 31, 33, 5.0);
  data::save_mp4(odd, dir / "odd.mp4", {.scale = 1});
  const data::StreamInfo odd_info = data::probe_video(dir / "odd.mp4");
  CHECK(odd_info.width == 34);
  CHECK(odd_info.height == 32);
  CHECK(odd_info.frames == 3);
  data::save_video(odd, dir / "odd.gif", 1);
  CHECK(data::probe_video(dir / "odd.gif").width == 33);
  CHECK(dir.entries() == 3);  // clip.mp4, odd.mp4, odd.gif
  CHECK(media_test::no_children());
}

TEST_CASE("import: crop, pad and stretch fits; max frames, max seconds, resampled rate") {
  if (!have_ffmpeg()) return;
  ScratchDir dir("fit");
  data::save_mp4(three_bands(10, 32, 64), dir / "wide.mp4", {.scale = 1, .crf = 10});
  // crop: 64x32 -> the middle 32 columns: green everywhere.
  const data::Video crop = data::import_video(dir / "wide.mp4", {.height = 16, .width = 16});
  REQUIRE(crop.frames == 10);
  for (int64_t x : {0, 8, 15}) {
    const uint8_t* p = crop.frame(4) + (8 * 16 + x) * 3;
    CHECK(p[1] > 200);
    CHECK(p[0] < 50);
  }
  // pad: 64x32 -> 32x16 centred in 32x32 with black bars of 8 rows; red on the left.
  const data::Video pad =
      data::import_video(dir / "wide.mp4", {.height = 32, .width = 32, .fit = data::Fit::pad});
  CHECK(pad.frame(0)[(1 * 32 + 16) * 3 + 1] < 20);    // top bar
  CHECK(pad.frame(0)[(16 * 32 + 2) * 3 + 0] > 200);   // red band
  CHECK(pad.frame(0)[(16 * 32 + 16) * 3 + 1] > 200);  // green band
  const data::Video stretch = data::import_video(
      dir / "wide.mp4", {.height = 8, .width = 8, .fit = data::Fit::stretch, .max_frames = 3});
  CHECK(stretch.frames == 3);
  CHECK(stretch.frame(2)[(4 * 8 + 0) * 3 + 0] > 200);  // red band still visible at the left
  // 10 frames at 10 fps: 0.5 s keeps 5, resampling to 4 fps keeps 4 (0, 0.25, 0.5, 0.75 s).
  CHECK(data::import_video(dir / "wide.mp4", {.max_seconds = 0.5}).frames == 5);
  const data::Video slow = data::import_video(dir / "wide.mp4", {.fps = 4});
  CHECK(slow.fps == 4.0);
  CHECK(slow.frames == 4);
  CHECK(data::import_video(dir / "wide.mp4", {.height = 0, .width = 0}).width == 64);
  CHECK_THROWS_AS(data::import_video(dir / "wide.mp4", {.height = 0, .width = 5}), Error);
}

TEST_CASE("import_videos: a folder, captions from a WebVid CSV and from .txt, streaming sink") {
  if (!have_ffmpeg()) return;
  ScratchDir dir("folder");
  const data::Video clip = media_test::moving_square(4, 32, 32, 8.0);
  data::save_mp4(clip, dir / "1001.mp4", {.scale = 1});
  data::save_gif(clip, dir / "1002.gif", {.scale = 1});
  data::save_mp4(clip, dir / "clip.mp4", {.scale = 1});
  media_test::write_bytes(dir / "clip.txt", "  a square, moving \"right\"\n");
  media_test::write_bytes(dir / "notes.md", "not a video");
  media_test::write_bytes(dir / "captions.csv",
                          "videoid,contentUrl,duration,page_dir,name\n"
                          "1001,u,d,p,\"Square, yellow, moves \"\"right\"\"\"\n"
                          "1002,u,d,p,From the CSV\n");
  data::ImportOptions options{.height = 16, .width = 16};
  options.captions = data::load_caption_csv(dir / "captions.csv");
  const auto videos = data::import_videos({dir.path.string()}, options);
  REQUIRE(videos.size() == 3);  // sorted: 1001.mp4, 1002.gif, clip.mp4
  CHECK(videos[0].caption == "Square, yellow, moves \"right\"");
  CHECK(videos[1].caption == "From the CSV");
  CHECK(videos[2].caption == "a square, moving \"right\"");
  CHECK(videos[1].frames == 4);
  CHECK(videos[2].height == 16);

  // Streaming into a dataset file: one video in memory at a time.
  {
    data::DatasetWriter writer(dir / "clips.h5");
    const auto report = data::import_videos({dir / "clip.mp4", dir / "1002.gif"}, options,
                                            [&](data::Video&& v) { writer.append(v); });
    CHECK(report.imported == 2);
    writer.close();
  }
  const data::ClipDataset dataset(dir / "clips.h5");
  REQUIRE(dataset.size() == 2);
  const data::Video stored = dataset.read(1);
  CHECK(stored.caption == "From the CSV");
  CHECK(stored.rgb == videos[1].rgb);
  CHECK(stored.origin == dir / "1002.gif");
}

TEST_CASE("import and export errors: corrupt file, missing file, no ffmpeg on PATH") {
  if (!have_ffmpeg()) return;
  ScratchDir dir("broken");
  std::string noise(4000, '\0');
  for (size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<char>(i * 131 + 7);
  media_test::write_bytes(dir / "corrupt.mp4", noise);
  std::string e = error_of([&] { data::import_video(dir / "corrupt.mp4"); });
  CHECK(contains(e, dir / "corrupt.mp4"));
  CHECK(contains(e, "exit status"));
  CHECK(media_test::no_children());
  e = error_of([&] { data::import_video(dir / "missing.mp4"); });
  CHECK(contains(e, "does not exist"));
  const auto sound = data::run_process({"ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
                                        "-f", "lavfi", "-i", "sine=d=0.1", "-y", dir / "tone.wav"});
  REQUIRE_MESSAGE(sound.ok(), sound.describe());
  CHECK(contains(error_of([&] { data::import_video(dir / "tone.wav"); }), "no video stream"));

  data::save_mp4(media_test::moving_square(2, 16, 16, 8.0), dir / "good.mp4", {.scale = 1});
  const auto report = data::import_videos(
      {dir.path.string()}, {.height = 8, .width = 8, .skip_failures = true}, [](data::Video&&) {});
  CHECK(report.imported == 1);
  REQUIRE(report.failures.size() == 1);
  CHECK(contains(report.failures[0], "corrupt.mp4"));
  CHECK_THROWS_AS(data::import_videos({dir.path.string()}, {.height = 8, .width = 8}), Error);

  // With nothing on PATH, the error says how to install ffmpeg, and no file appears.
  const std::string saved_path = std::getenv("PATH") ? std::getenv("PATH") : "";
  ::setenv("PATH", (dir / "empty").c_str(), 1);
  e = error_of([&] { data::save_gif(media_test::moving_square(2, 8, 8, 4.0), dir / "x.gif"); });
  const std::string e2 = error_of([&] { data::import_video(dir / "good.mp4"); });
  ::setenv("PATH", saved_path.c_str(), 1);
  CHECK(contains(e, "apt-get install ffmpeg"));
  CHECK(contains(e2, "install ffmpeg"));
  CHECK_FALSE(std::filesystem::exists(dir / "x.gif"));
  CHECK(media_test::no_children());
}
