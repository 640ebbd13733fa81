// data/: the Video type and its tensor conversions.
#include <doctest/doctest.h>

#include "data/video.h"
#include "tensor/error.h"
#include "tensor/ops.h"

using namespace trip;

TEST_CASE("Video <-> tensor: [-1, 1] scaling, [3, F, H, W] layout, exact round trip") {
  data::Video video(3, 2, 5, 4.0);
  for (size_t i = 0; i < video.rgb.size(); ++i) video.rgb[i] = static_cast<uint8_t>((i * 37) % 256);
  const Tensor clip = data::to_tensor(video);
  CHECK(clip.shape() == Dims({3, 3, 2, 5}));
  // Pixel (frame 1, y 1, x 3), channel 2 sits at rgb[((1 * 2 + 1) * 5 + 3) * 3 + 2].
  const double expected = video.rgb[((1 * 2 + 1) * 5 + 3) * 3 + 2] / 127.5 - 1.0;
  CHECK(clip.to_vector<float>()[static_cast<size_t>(((2 * 3 + 1) * 2 + 1) * 5 + 3)] ==
        doctest::Approx(expected));
  const data::Video back = data::from_tensor(clip, 4.0);
  CHECK(back.rgb == video.rgb);
  const Tensor part = data::to_tensor(video, 1, 2);
  CHECK(part.shape() == Dims({3, 2, 2, 5}));
  CHECK_THROWS_AS(data::to_tensor(video, 2, 2), Error);
  data::Video broken = video;
  broken.rgb.pop_back();
  CHECK_THROWS_AS(broken.validate(), Error);
  CHECK_THROWS_AS(data::Video(0, 2, 2, 4.0), Error);
  CHECK_THROWS_AS(data::from_tensor(ops::zeros({2, 1, 2, 2}), 4.0), Error);
}
