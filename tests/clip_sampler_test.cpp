// data/clip_sampler: the frame-index rule at several frame-rate ratios, short videos, seeded
// starts and crops, area/bilinear resize and crop on known patterns.
#include <doctest/doctest.h>

#include <set>

#include "data/clip_sampler.h"
#include "data_test_util.h"
#include "tensor/error.h"

using namespace trip;
using data::clip_frame_indices;
using V = std::vector<int64_t>;

TEST_CASE("clip sampling: nearest native frame to start + k / target_fps") {
  CHECK(clip_frame_indices(100, 8, 4, 4) == V{0, 2, 4, 6});         // 2 native frames per step
  CHECK(clip_frame_indices(100, 30, 5, 4) == V{0, 8, 15, 23, 30});  // 7.5: halves round up
  CHECK(clip_frame_indices(100, 29.97, 4, 4) == V{0, 7, 15, 22});   // 7.4925
  CHECK(clip_frame_indices(100, 4, 4, 4) == V{0, 1, 2, 3});         // same rate
  CHECK(clip_frame_indices(100, 2, 5, 4) == V{0, 1, 1, 2, 2});      // slower video: repeats
  CHECK(clip_frame_indices(100, 8, 4, 4, 10) == V{10, 12, 14, 16});
  CHECK(data::clip_span(30, 5, 4) == 30);
  CHECK(data::clip_span(8, 16, 4) == 30);
  // Too short: the last frame repeats, or it is an error that names the frames.
  CHECK(clip_frame_indices(5, 8, 4, 4) == V{0, 2, 4, 4});
  CHECK_THROWS_WITH_AS(clip_frame_indices(5, 8, 4, 4, 0, data::ShortVideo::error),
                       doctest::Contains("need frame 6, but the video has 5 frames"), Error);
  CHECK_THROWS_AS(clip_frame_indices(5, 0, 4, 4), Error);
  CHECK_THROWS_AS(clip_frame_indices(5, 8, 4, 4, 5), Error);
}

TEST_CASE(
    "clip sampling: seeded start covers every fitting start, crops fit, same seed same plan") {
  const data::VideoInfo info{20, 10, 16, 8.0, "", "test"};
  const data::ClipOptions options{.frames = 4, .fps = 4, .size = 5, .crop = data::Crop::random};
  std::set<int64_t> starts, xs;
  for (uint64_t seed = 0; seed < 400; ++seed) {
    const data::ClipPlan plan = data::plan_clip(info, options, seed);
    REQUIRE(plan.frames.size() == 4);
    CHECK(plan.frames.back() - plan.frames.front() == 6);
    CHECK(plan.frames.back() <= 19);
    starts.insert(plan.frames.front());
    CHECK(plan.crop_side == 10);
    CHECK(plan.crop_y == 0);
    xs.insert(plan.crop_x);
    CHECK(plan.crop_x + plan.crop_side <= 16);
    const data::ClipPlan again = data::plan_clip(info, options, seed);
    CHECK(again.frames == plan.frames);
    CHECK(again.crop_x == plan.crop_x);
  }
  CHECK(starts.size() == 14);  // starts 0..13 all occur
  CHECK(xs.size() == 7);       // offsets 0..6
  data::ClipOptions centre = options;
  centre.crop = data::Crop::center;
  CHECK(data::plan_clip(info, centre, 1).crop_x == 3);
  CHECK(data::clip_fits(info, options));
  CHECK_FALSE(data::clip_fits({6, 10, 16, 8.0, "", ""}, options));
}

TEST_CASE("resize_crop: area averages, bilinear enlarges, crop offsets, [-1, 1] layout") {
  // 8x8, one frame, 2x2 blocks of distinct grey values: halving gives the block values exactly.
  data::Video v(1, 8, 8, 1.0);
  auto block = [](int64_t y, int64_t x) { return uint8_t(10 * (y / 2) + 50 * (x / 2) + 5); };
  for (int64_t y = 0; y < 8; ++y)
    for (int64_t x = 0; x < 8; ++x)
      for (int c = 0; c < 3; ++c) v.frame(0)[(y * 8 + x) * 3 + c] = uint8_t(block(y, x) + c);
  const std::vector<float> half = data::resize_crop(v, 0, 0, 8, 4).to_vector<float>();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < 4; ++y)
      for (int64_t x = 0; x < 4; ++x)
        CHECK(half[size_t((c * 4 + y) * 4 + x)] ==
              doctest::Approx((block(2 * y, 2 * x) + c) / 127.5 - 1.0).epsilon(1e-6));
  // 3 -> 2 pixels: output 0 covers pixel 0 and half of pixel 1.
  data::Video row(1, 3, 3, 1.0);
  const uint8_t values[3] = {0, 90, 240};
  for (int64_t y = 0; y < 3; ++y)
    for (int64_t x = 0; x < 3; ++x)
      for (int c = 0; c < 3; ++c) row.frame(0)[(y * 3 + x) * 3 + c] = values[x];
  const std::vector<float> two = data::resize_crop(row, 0, 0, 3, 2).to_vector<float>();
  CHECK(two[0] == doctest::Approx((0 + 0.5 * 90) / 1.5 / 127.5 - 1.0));
  CHECK(two[1] == doctest::Approx((0.5 * 90 + 240) / 1.5 / 127.5 - 1.0));
  // 2 -> 4 bilinear, half-pixel centres: samples at -0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
  data::Video tiny(1, 2, 2, 1.0);
  const uint8_t t[2] = {40, 200};
  for (int64_t y = 0; y < 2; ++y)
    for (int64_t x = 0; x < 2; ++x)
      for (int c = 0; c < 3; ++c) tiny.frame(0)[(y * 2 + x) * 3 + c] = t[x];
  const std::vector<float> up = data::resize_crop(tiny, 0, 0, 2, 4).to_vector<float>();
  const double expect[4] = {40, 80, 160, 200};
  for (int x = 0; x < 4; ++x) CHECK(up[size_t(x)] == doctest::Approx(expect[x] / 127.5 - 1.0));
  // A 6x10 video (value = column) with a centre crop takes columns 2..7.
  data::Video wide(2, 6, 10, 1.0);
  for (int64_t f = 0; f < 2; ++f)
    for (int64_t y = 0; y < 6; ++y)
      for (int64_t x = 0; x < 10; ++x)
        for (int c = 0; c < 3; ++c) wide.frame(f)[(y * 10 + x) * 3 + c] = uint8_t(20 * x + f);
  const data::ClipOptions options{.frames = 2, .fps = 1, .size = 6, .crop = data::Crop::center};
  const Tensor clip = data::sample_clip(wide, options, 7);
  REQUIRE(clip.shape() == Dims({3, 2, 6, 6}));
  const std::vector<float> cv = clip.to_vector<float>();
  for (int64_t f = 0; f < 2; ++f)
    for (int64_t x = 0; x < 6; ++x)
      CHECK(cv[size_t(((2 * 2 + f) * 6 + 3) * 6 + x)] ==
            doctest::Approx((20 * (x + 2) + f) / 127.5 - 1.0));
  CHECK_THROWS_WITH_AS(data::resize_crop(wide, 0, 5, 6, 4), doctest::Contains("does not fit"),
                       Error);
}

TEST_CASE("sample_clip from a dataset reads the same clip as from memory") {
  test::TempDir dir;
  const std::string path = dir.file("clips.h5");
  const data::Video v = test::patterned_video(30, 12, 20, 8.0, 3);
  {
    data::DatasetWriter w(path);
    w.append(v);
    w.close();
  }
  const data::ClipDataset ds(path);
  const data::ClipOptions options{.frames = 5, .fps = 3, .size = 8};
  for (uint64_t seed : {1u, 2u, 3u}) {
    const std::vector<float> a = data::sample_clip(ds, 0, options, seed).to_vector<float>();
    const std::vector<float> b = data::sample_clip(v, options, seed).to_vector<float>();
    CHECK(a == b);
  }
}
