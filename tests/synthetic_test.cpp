// data/synthetic: determinism, visible motion at 32x32 over 8 frames, captions that say what the
// pixels do.
#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include "data/dataset.h"
#include "data/synthetic.h"
#include "data_test_util.h"
#include "tensor/error.h"

using namespace trip;
using data::Motion;

namespace {

// Mean absolute difference of two frames, per byte.
double frame_diff(const data::Video& v, int64_t a, int64_t b) {
  double sum = 0;
  for (size_t i = 0; i < v.frame_bytes(); ++i)
    sum += std::abs(int(v.frame(a)[i]) - int(v.frame(b)[i]));
  return sum / double(v.frame_bytes());
}

// Pixels within 60 of the sprite colour (backgrounds are dark, sprites bright): count, centroid.
struct Blob {
  double count = 0, x = 0, y = 0;
};
Blob blob(const data::Video& v, int64_t f, const data::Rgb& color) {
  Blob b;
  for (int64_t y = 0; y < v.height; ++y)
    for (int64_t x = 0; x < v.width; ++x) {
      const uint8_t* p = v.frame(f) + (y * v.width + x) * 3;
      int d = 0;
      for (int c = 0; c < 3; ++c) d = std::max(d, std::abs(int(p[c]) - int(color[size_t(c)])));
      if (d < 60) {
        b.count += 1;
        b.x += double(x);
        b.y += double(y);
      }
    }
  if (b.count > 0) {
    b.x /= b.count;
    b.y /= b.count;
  }
  return b;
}

// The integer shift s in [-4, 4] along (dx, dy) that best maps frame a onto frame b.
int best_shift(const data::Video& v, int64_t a, int64_t b, int dx, int dy) {
  int best = 0;
  double best_err = 1e30;
  for (int s = -4; s <= 4; ++s) {
    double err = 0;
    int n = 0;
    for (int64_t y = 4; y < v.height - 4; ++y)
      for (int64_t x = 4; x < v.width - 4; ++x)
        for (int c = 0; c < 3; ++c) {
          const int from = v.frame(a)[((y - s * dy) * v.width + (x - s * dx)) * 3 + c];
          err += std::abs(int(v.frame(b)[(y * v.width + x) * 3 + c]) - from);
          ++n;
        }
    if (err / n < best_err) {
      best_err = err / n;
      best = s;
    }
  }
  return best;
}

}  // namespace

TEST_CASE("synthetic videos: same seed same bytes, different seeds differ, any size and length") {
  const data::Video a = data::synthesize(3, 42, 8, 32, 8.0),
                    b = data::synthesize(3, 42, 8, 32, 8.0);
  CHECK(a.rgb == b.rgb);
  CHECK(a.caption == b.caption);
  CHECK(a.origin == b.origin);
  int differ = 0;
  for (int64_t i = 0; i < 8; ++i)
    differ += data::synthesize(i, 1, 8, 32).rgb != data::synthesize(i, 2, 8, 32).rgb;
  CHECK(differ == 8);
  const data::Video odd = data::synthesize(5, 7, 3, 17, 2.5);
  CHECK(odd.frames == 3);
  CHECK(odd.height == 17);
  CHECK(odd.fps == 2.5);
  odd.validate();
  CHECK_NOTHROW(data::synthesize(5, 7, 1, 64));
  CHECK_THROWS_AS(data::synthesize(5, 7, 0, 32), Error);
  // Every kind occurs among 200 videos, and captions name the motion.
  std::map<Motion, int> kinds;
  for (int64_t i = 0; i < 200; ++i) {
    const data::SyntheticSpec s = data::synthetic_spec(i, 9);
    ++kinds[s.motion];
    const std::map<Motion, std::string> verb = {{Motion::move, " moves " + s.direction},
                                                {Motion::bounce, " bounces"},
                                                {Motion::rotate, " rotates " + s.direction},
                                                {Motion::grow, " grows"},
                                                {Motion::shrink, " shrinks"},
                                                {Motion::stripes, " stripes drift " + s.direction},
                                                {Motion::waves, " waves move " + s.direction},
                                                {Motion::flicker, " checkerboard flickers"}};
    CHECK(s.caption.find(verb.at(s.motion)) != std::string::npos);
    CHECK(s.caption.find(s.color_name) != std::string::npos);
    CHECK(s.caption.find("a orange") == std::string::npos);
  }
  CHECK(kinds.size() == 8);
}

TEST_CASE("synthetic videos: motion is visible at 32x32 over 8 frames and matches the caption") {
  for (int64_t i = 0; i < 120; ++i) {
    const data::SyntheticSpec s = data::synthetic_spec(i, 5);
    const data::Video v = data::render_synthetic(s, 8, 32, 8.0);
    CAPTURE(s.caption);
    double total = 0;
    for (int64_t f = 1; f < 8; ++f) total += frame_diff(v, f - 1, f);
    CHECK(total / 7 > 1.0);            // consecutive frames differ visibly (mean |diff| per byte)
    CHECK(frame_diff(v, 0, 7) > 3.0);  // and the clip as a whole changes
    const Blob first = blob(v, 0, s.color), last = blob(v, 7, s.color);
    switch (s.motion) {
      case Motion::move: {
        const double moved = (last.x - first.x) * s.dx + (last.y - first.y) * s.dy;
        CHECK(moved > 8.0);  // pixels, in the captioned direction
        CHECK(std::abs((last.x - first.x) * s.dy - (last.y - first.y) * s.dx) < 1.0);
        break;
      }
      case Motion::bounce: {  // the centre reverses along some axis during the clip
        bool reversed = false;
        double px = 0, py = 0;
        Blob prev = first;
        for (int64_t f = 1; f < 8; ++f) {
          const Blob b = blob(v, f, s.color);
          const double vx = b.x - prev.x, vy = b.y - prev.y;
          if (f > 1 && (vx * px < -0.5 || vy * py < -0.5)) reversed = true;
          px = vx;
          py = vy;
          prev = b;
        }
        CHECK(reversed);
        break;
      }
      case Motion::grow:
        CHECK(last.count > 1.8 * first.count);
        break;
      case Motion::shrink:
        CHECK(first.count > 1.8 * last.count);
        break;
      case Motion::rotate:  // turns in place: the area and the centre stay, the pixels change
        CHECK(std::abs(last.count - first.count) < 0.15 * first.count);
        CHECK(std::hypot(last.x - first.x, last.y - first.y) < 1.5);
        break;
      case Motion::stripes:
      case Motion::waves: {
        const int s1 = best_shift(v, 0, 1, int(s.dx), int(s.dy));
        CHECK(s1 >= 1);  // the pattern moves the captioned way by at least a pixel per frame
        break;
      }
      case Motion::flicker: {  // it dims and brightens again: back near frame 0 after a peak
        double peak = 0;
        bool returned = false;
        for (int64_t f = 1; f < 8; ++f) {
          const double d = frame_diff(v, 0, f);
          if (d < 0.4 * peak) returned = true;
          peak = std::max(peak, d);
        }
        CHECK(peak > 10.0);
        CHECK(returned);
        break;
      }
    }
  }
}

TEST_CASE(
    "synthetic videos: a scene choice narrows motions and directions; all of it is the default") {
  const data::SceneChoice moves_right{.motions = {Motion::move, Motion::waves},
                                      .directions = {"right"}};
  std::map<Motion, int> kinds;
  for (int64_t i = 0; i < 100; ++i) {
    const data::SyntheticSpec s = data::synthetic_spec(i, 4, moves_right);
    ++kinds[s.motion];
    CHECK(s.direction == "right");
    CHECK(s.dx == 1);
  }
  CHECK(kinds.size() == 2);
  CHECK(kinds[Motion::move] > 25);
  // Listing everything in enum order draws the very scenes of the default.
  const data::SceneChoice everything{
      .motions = {Motion::move, Motion::bounce, Motion::rotate, Motion::grow, Motion::shrink,
                  Motion::stripes, Motion::waves, Motion::flicker},
      .directions = {"left", "right", "up", "down"}};
  for (int64_t i = 0; i < 50; ++i) {
    const data::Video a = data::synthesize(i, 6, 4, 16),
                      b = data::synthesize(i, 6, 4, 16, 8.0, everything);
    CHECK(a.rgb == b.rgb);
    CHECK(a.caption == b.caption);
  }
  CHECK(data::motion_from_name("rotate") == Motion::rotate);
  CHECK_THROWS_WITH_AS(data::motion_from_name("jump"),
                       doctest::Contains("unknown synthetic motion 'jump'"), Error);
  CHECK_THROWS_WITH_AS(data::synthetic_spec(0, 0, {.directions = {"north"}}),
                       doctest::Contains("unknown direction 'north'"), Error);
}

TEST_CASE("synthesize_dataset writes count captioned videos that read back bit exact") {
  test::TempDir dir;
  const std::string path = dir.file("synth.h5");
  int64_t calls = 0;
  data::synthesize_dataset(path, {.count = 6, .seed = 3, .frames = 5, .size = 16, .fps = 6},
                           [&](int64_t done, int64_t total) {
                             ++calls;
                             CHECK(total == 6);
                             CHECK(done == calls);
                           });
  data::ClipDataset ds(path);
  REQUIRE(ds.size() == 6);
  for (int64_t i = 0; i < 6; ++i) {
    const data::Video v = ds.read(i), w = data::synthesize(i, 3, 5, 16, 6);
    CHECK(v.rgb == w.rgb);
    CHECK(v.caption == w.caption);
    CHECK(v.origin == w.origin);
  }
  CHECK_THROWS_WITH_AS(data::synthesize_dataset(path, {.count = 2}), doctest::Contains("exists"),
                       Error);
  CHECK(data::ClipDataset(path).size() == 6);
}
