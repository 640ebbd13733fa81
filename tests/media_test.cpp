// data/: images (PNG/JPEG), strips and grids, CSV captions, the external-process runner.
#include <doctest/doctest.h>

#include <random>

#include "data/captions.h"
#include "data/export.h"
#include "data/image.h"
#include "data/process.h"
#include "media_test_util.h"
#include "tensor/error.h"

using namespace trip;
using media_test::error_of;
using media_test::ScratchDir;

namespace {

data::Image random_image(int64_t h, int64_t w, uint32_t seed) {
  data::Image image(h, w);
  std::mt19937 rng(seed);
  for (uint8_t& v : image.rgb) v = static_cast<uint8_t>(rng());
  return image;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("PNG: save then load is exact, leaves no temporary file, works at odd sizes") {
  ScratchDir dir("png");
  for (auto [h, w] : {std::pair<int64_t, int64_t>{1, 1}, {7, 5}, {32, 33}}) {
    const data::Image image = random_image(h, w, static_cast<uint32_t>(h * 100 + w));
    const std::string path = dir / fmt::format("img_{}x{}.png", w, h);
    data::save_png(image, path);
    const data::Image back = data::load_image(path);
    CHECK(back.height == h);
    CHECK(back.width == w);
    CHECK(back.rgb == image.rgb);
  }
  CHECK(dir.entries() == 3);
  // Overwriting replaces the file whole.
  const data::Image other = random_image(2, 3, 9);
  data::save_image(other, dir / "img_5x7.png");
  CHECK(data::load_image(dir / "img_5x7.png").rgb == other.rgb);
  CHECK(dir.entries() == 3);
}

TEST_CASE("JPEG: stb-written and ffmpeg-written files load with the right size and colours") {
  ScratchDir dir("jpeg");
  data::Image smooth(24, 16);
  for (int64_t y = 0; y < 24; ++y)
    for (int64_t x = 0; x < 16; ++x) {
      uint8_t* p = smooth.pixel(y, x);
      p[0] = static_cast<uint8_t>(x * 15);
      p[1] = static_cast<uint8_t>(y * 10);
      p[2] = 128;
    }
  data::save_image(smooth, dir / "smooth.jpg");
  const data::Image back = data::load_image(dir / "smooth.jpg");
  REQUIRE(back.height == 24);
  REQUIRE(back.width == 16);
  CHECK(media_test::mean_abs_error(back.rgb, smooth.rgb) < 3.0);
  CHECK(media_test::mean_abs_error(back.rgb, smooth.rgb) > 0.0);  // it is lossy: really a JPEG
  CHECK(media_test::read_bytes(dir / "smooth.jpg").substr(0, 2) == "\xFF\xD8");

  if (data::find_program("ffmpeg").empty()) {
    MESSAGE("skipped the ffmpeg-written JPEG: ffmpeg is not installed");
    return;
  }
  // A grey 40x30 frame written by ffmpeg's own mjpeg encoder (a different JPEG producer).
  const auto made = data::run_process({"ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
                                       "-f", "lavfi", "-i", "color=c=0x808080:s=40x30:d=0.1",
                                       "-frames:v", "1", "-y", dir / "grey.jpg"});
  REQUIRE_MESSAGE(made.ok(), made.describe());
  const data::Image grey = data::load_image(dir / "grey.jpg");
  CHECK(grey.width == 40);
  CHECK(grey.height == 30);
  CHECK(media_test::mean_abs_error(grey.rgb, std::vector<uint8_t>(grey.rgb.size(), 128)) < 3.0);
}

TEST_CASE("images: missing, empty, corrupt and truncated files give errors naming path and cause") {
  ScratchDir dir("badimg");
  const std::string missing = dir / "missing.png";
  std::string e = error_of([&] { data::load_image(missing); });
  CHECK(contains(e, missing));
  CHECK(contains(e, "does not exist"));

  media_test::write_bytes(dir / "empty.png", "");
  CHECK(contains(error_of([&] { data::load_image(dir / "empty.png"); }), "is empty"));

  media_test::write_bytes(dir / "noise.png", std::string(300, 'x'));
  e = error_of([&] { data::load_image(dir / "noise.png"); });
  CHECK(contains(e, dir / "noise.png"));
  CHECK(contains(e, "cannot decode"));

  data::save_png(random_image(16, 16, 3), dir / "good.png");
  const std::string good = media_test::read_bytes(dir / "good.png");
  media_test::write_bytes(dir / "cut.png", good.substr(0, good.size() / 2));
  CHECK(contains(error_of([&] { data::load_image(dir / "cut.png"); }), "cannot decode"));

  CHECK(contains(error_of([&] { data::load_image(dir.path.string()); }), "is a folder"));
  e = error_of([&] { data::save_png(random_image(2, 2, 1), dir / "no/such/folder/x.png"); });
  CHECK(contains(e, "does not exist"));
  CHECK(contains(error_of([&] { data::save_image(random_image(2, 2, 1), dir / "x.bmp"); }),
                 "cannot tell the format"));
  data::Image broken = random_image(2, 2, 1);
  broken.rgb.pop_back();
  CHECK_THROWS_AS(data::save_png(broken, dir / "broken.png"), Error);
  CHECK_FALSE(std::filesystem::exists(dir / "broken.png"));
}

TEST_CASE("strips and grids: sizes, pixel placement, separators, PNG files") {
  data::Video video(3, 2, 3, 8.0);
  for (int64_t f = 0; f < 3; ++f)
    for (int64_t p = 0; p < 6; ++p)
      for (int64_t c = 0; c < 3; ++c)
        video.frame(f)[p * 3 + c] = static_cast<uint8_t>(f * 60 + p * 8 + c);
  const data::Image strip = data::strip_image(video, 2, 2, 255);
  REQUIRE(strip.height == 4);
  REQUIRE(strip.width == 3 * 6 + 2 * 2);
  // Output (y 3, x 8 + 5) is frame 1, source pixel (1, 2); x 6 and 7 are the separator.
  CHECK(strip.pixel(3, 8 + 5)[1] == video.frame(1)[(1 * 3 + 2) * 3 + 1]);
  CHECK(strip.pixel(0, 16)[0] == video.frame(2)[0]);
  CHECK(strip.pixel(1, 6)[0] == 255);
  CHECK(strip.pixel(3, 7)[2] == 255);

  data::Video shorter(2, 2, 3, 8.0);
  std::fill(shorter.rgb.begin(), shorter.rgb.end(), 7);
  const data::Image grid = data::grid_image({video, shorter}, 1, 1, 200);
  REQUIRE(grid.height == 2 * 2 + 1);
  REQUIRE(grid.width == 3 * 3 + 2);
  CHECK(grid.pixel(2, 0)[0] == 200);      // separator row
  CHECK(grid.pixel(3, 4)[0] == 7);        // row 1, frame 1
  CHECK(grid.pixel(4, 8 + 1)[0] == 200);  // row 1 has no frame 2: background
  CHECK(grid.pixel(1, 4 + 2)[2] == video.frame(1)[(1 * 3 + 2) * 3 + 2]);
  CHECK_THROWS_AS(data::grid_image({video, data::Video(1, 3, 3, 8.0)}), Error);

  ScratchDir dir("strip");
  data::save_strip(video, dir / "strip.png", 2);
  CHECK(data::load_image(dir / "strip.png").rgb == strip.rgb);
  data::save_grid({video, shorter}, dir / "grid.png", 3);
  const data::Image loaded = data::load_image(dir / "grid.png");
  CHECK(loaded.height == 2 * 6 + 2);
  CHECK(loaded.width == 3 * 9 + 2 * 2);
  data::save_video(video, dir / "also_strip.png");
  CHECK(data::load_image(dir / "also_strip.png").width == 3 * 3 + 2 * 2);
}

TEST_CASE("CSV: quoted commas, doubled quotes, line breaks in quotes, CRLF, BOM; errors") {
  const auto rows = data::parse_csv(
      "\xEF\xBB\xBFvideoid,name\r\n1,\"a dog, running\"\r\n\n2,\"say "
      "\"\"hi\"\"\"\n3,\"two\nlines\"\n"
      "4,");
  REQUIRE(rows.size() == 5);
  CHECK(rows[0] == std::vector<std::string>{"videoid", "name"});
  CHECK(rows[1][1] == "a dog, running");
  CHECK(rows[2][1] == "say \"hi\"");
  CHECK(rows[3][1] == "two\nlines");
  CHECK(rows[4] == std::vector<std::string>{"4", ""});
  CHECK(contains(error_of([] { data::parse_csv("a,\"open\nb", "t.csv"); }), "never closed"));
  CHECK(data::parse_csv("a,b\"c\n")[0][1] == "b\"c");
  CHECK(contains(error_of([] { data::parse_csv("x\ny\na,\"b\"c\n", "t.csv"); }), "line 3"));
  CHECK(contains(error_of([] { data::parse_csv("a,\"b\"c\n", "t.csv"); }), "closing quote"));

  ScratchDir dir("csv");
  media_test::write_bytes(dir / "webvid.csv",
                          "videoid,contentUrl,duration,page_dir,name\n"
                          "1001,http://x/1.mp4,PT00H00M10S,dir,\"Waves, at sunset\"\n"
                          "1002,http://x/2.mp4,PT00H00M05S,dir,A \"\"quoted\"\" cat\n");
  const auto captions = data::load_caption_csv(dir / "webvid.csv");
  CHECK(captions.size() == 2);
  CHECK(captions.at("1001") == "Waves, at sunset");
  CHECK(captions.at("1002") == "A \"\"quoted\"\" cat");  // quotes inside unquoted fields are kept
  media_test::write_bytes(dir / "bad.csv", "id,caption\n1,x\n");
  CHECK(contains(error_of([&] { data::load_caption_csv(dir / "bad.csv"); }), "no 'videoid'"));
  media_test::write_bytes(dir / "short.csv", "videoid,x,name\n1,2\n");
  CHECK(contains(error_of([&] { data::load_caption_csv(dir / "short.csv"); }), "row 2"));
}

TEST_CASE("run_process: stdin/stdout at once, exit status, early exit, timeout, no zombies") {
  if (data::find_program("cat").empty() || data::find_program("sleep").empty()) {
    MESSAGE("skipped: no cat/sleep on PATH");
    return;
  }
  // 3 MB through cat: more than a pipe holds in both directions, so this deadlocks unless stdin
  // and stdout are serviced together.
  std::vector<uint8_t> input(3 << 20);
  for (size_t i = 0; i < input.size(); ++i) input[i] = static_cast<uint8_t>(i * 7 + i / 1000);
  std::vector<uint8_t> output;
  const auto echoed = data::run_process(
      {"cat"}, input, [&](const uint8_t* d, size_t n) { output.insert(output.end(), d, d + n); });
  CHECK(echoed.ok());
  CHECK(output == input);
  // head exits after 10 bytes: the rest of the input cannot be written (EPIPE, not SIGPIPE).
  const auto early = data::run_process({"head", "-c", "10"}, input);
  CHECK(early.ok());
  const auto failed = data::run_process({"false"});
  CHECK(failed.exit_code == 1);
  CHECK(contains(failed.describe(), "exit status 1"));
  CHECK(contains(error_of([] { data::run_process({"no-such-program-trip"}); }), "not found"));
  CHECK(contains(error_of([] {
                   data::run_process({"sleep", "5"}, {}, {}, {.timeout_seconds = 0.2});
                 }),
                 "killed"));
  CHECK(media_test::no_children());
}
