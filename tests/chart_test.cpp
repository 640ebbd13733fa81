// data/chart: points and lines land where their values say, log axes, the font, errors.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "data/chart.h"
#include "data/image.h"
#include "media_test_util.h"
#include "tensor/error.h"

using namespace trip;
using data::Chart;
using data::ChartColor;
using data::ChartOptions;
using data::Image;
using media_test::error_of;

namespace {

struct Blob {
  int64_t count = 0;
  double x = 0, y = 0;  // centroid
  int64_t x0 = 1 << 30, x1 = -1, y0 = 1 << 30, y1 = -1;
};

// The pixels of exactly this colour.
Blob find(const Image& img, ChartColor c) {
  Blob b;
  for (int64_t y = 0; y < img.height; ++y) {
    for (int64_t x = 0; x < img.width; ++x) {
      const uint8_t* p = img.pixel(y, x);
      if (p[0] != c[0] || p[1] != c[1] || p[2] != c[2]) continue;
      ++b.count, b.x += double(x), b.y += double(y);
      b.x0 = std::min(b.x0, x), b.x1 = std::max(b.x1, x);
      b.y0 = std::min(b.y0, y), b.y1 = std::max(b.y1, y);
    }
  }
  if (b.count) b.x /= double(b.count), b.y /= double(b.count);
  return b;
}

ChartOptions plain(double lo, double hi) {
  ChartOptions o;
  o.x_min = lo, o.x_max = hi, o.y_min = lo, o.y_max = hi;
  o.grid = false, o.legend = false;
  return o;
}

constexpr ChartColor red{250, 0, 0}, green{0, 250, 0}, blue{0, 0, 250};

}  // namespace

TEST_CASE("chart: scatter points sit at their values, y pointing up") {
  Chart chart(plain(-1, 11));
  chart.scatter({0}, {0}, "", red).scatter({10}, {10}, "", green).scatter({5}, {5}, "", blue);
  chart.scatter({2.5}, {7.5}, "", ChartColor{1, 2, 3}, 3);
  const Image img = chart.render();
  CHECK(img.width == 640);
  CHECK(img.height == 360);
  const Blob a = find(img, red), b = find(img, green), c = find(img, blue);
  const Blob d = find(img, ChartColor{1, 2, 3});
  CHECK(a.count == 9);  // radius 1: a 3x3 square
  CHECK(b.count == 9);
  CHECK(c.count == 9);
  CHECK(d.count == 49);  // radius 3: 7x7
  CHECK(a.x < c.x);
  CHECK(c.x < b.x);
  CHECK(a.y > c.y);  // larger y is higher up in the picture
  CHECK(c.y > b.y);
  CHECK(std::abs(c.x - (a.x + b.x) / 2) <= 0.5);
  CHECK(std::abs(c.y - (a.y + b.y) / 2) <= 0.5);
  CHECK(std::abs(d.x - (0.75 * a.x + 0.25 * b.x)) <= 0.5);
  CHECK(std::abs(d.y - (0.25 * a.y + 0.75 * b.y)) <= 0.5);
  // The plot fills most of the picture: 12 units span most of the width and height.
  CHECK((b.x - a.x) * 12 / 10 > 0.8 * 640);
  CHECK((a.y - b.y) * 12 / 10 > 0.8 * 360);
}

TEST_CASE("chart: a line is drawn between its points and clipped to the plot area") {
  Chart chart(plain(-1, 11));
  chart.scatter({0, 10}, {5, 5}, "", green, 0);  // markers at the ends (drawn first, covered)
  chart.line({0, 10}, {5, 5}, "", red, 1);
  chart.line({5, 5}, {-1e300, 1e300}, "", blue, 3);  // far outside: clipped, not slow
  const Image img = chart.render();
  const Blob l = find(img, red), v = find(img, blue), ends = find(img, green);
  CHECK(ends.count == 0);                                 // the line covers both end points
  CHECK(l.y0 == l.y1);                                    // one row
  CHECK(l.count == l.x1 - l.x0 + 1 - (v.x1 - v.x0 + 1));  // unbroken except where blue crosses
  CHECK(v.x1 - v.x0 + 1 == 3);                            // thickness 3
  CHECK(std::abs(v.x - (l.x0 + l.x1) / 2.0) <= 1.0);
  // The vertical line stays inside the axes: nothing above the plot's top margin or in the
  // bottom margin where the tick labels are.
  CHECK(v.y0 > 0);
  CHECK(v.y1 < img.height - 25);
  CHECK(std::abs(l.y - (v.y0 + v.y1) / 2.0) <= 1.0);
}

TEST_CASE("chart: log y puts decades at equal distances") {
  ChartOptions o;
  o.log_y = true, o.grid = false, o.legend = false;
  Chart chart(o);
  chart.scatter({0}, {2}, "", red).scatter({1}, {20}, "", green).scatter({2}, {200}, "", blue);
  const Image img = chart.render();
  const Blob a = find(img, red), b = find(img, green), c = find(img, blue);
  REQUIRE(a.count == 9);
  REQUIRE(c.count == 9);
  CHECK(std::abs((a.y - b.y) - (b.y - c.y)) <= 1.0);
  CHECK(a.y - b.y > 50);
}

TEST_CASE("chart: series get distinct palette colours and a legend") {
  for (size_t i = 0; i < 8; ++i) {
    for (size_t j = 0; j < i; ++j) CHECK(data::chart_palette(i) != data::chart_palette(j));
  }
  ChartOptions o;
  o.title = "two lines";
  Chart chart(o);
  chart.line({0, 1, 2}, {0, 1, 4}, "square").line({0, 1, 2}, {0, 1, 2}, "linear");
  const Image img = chart.render();
  CHECK(find(img, data::chart_palette(0)).count > 100);
  CHECK(find(img, data::chart_palette(1)).count > 100);
  const Blob text = find(img, ChartColor{0, 0, 0});
  CHECK(text.y0 < 20);  // the title is drawn at the top
}

TEST_CASE("chart: the font draws known glyphs") {
  Image img(20, 40, 255);
  data::draw_text(img, 0, 0, "8", {}, 1);  // rows 111 101 111 101 111
  CHECK(find(img, ChartColor{0, 0, 0}).count == 13);
  Image img2(20, 40, 255);
  data::draw_text(img2, 1, 1, "a1", {9, 9, 9}, 2);  // 'a' = 10 font pixels, '1' = 8, 4 px each
  CHECK(find(img2, ChartColor{9, 9, 9}).count == (10 + 8) * 4);
  CHECK(data::text_width("a1", 2) == 14);
}

TEST_CASE("chart: saved as a PNG; side_by_side") {
  media_test::ScratchDir dir("chart");
  Chart chart;
  chart.line({0, 1}, {0, 1});
  chart.save(dir / "c.png");
  const Image back = data::load_image(dir / "c.png");
  CHECK(back.rgb == chart.render().rgb);
  Image small(100, 50, 7);
  const Image row = data::side_by_side({back, small}, 4);
  CHECK(row.width == 640 + 4 + 50);
  CHECK(row.height == 360);
  CHECK(row.pixel(99, 644)[0] == 7);
  CHECK(row.pixel(100, 644)[0] == 255);  // padded with white below the shorter picture
}

TEST_CASE("chart: bad input is refused with the series, index and value") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(error_of([] { Chart().line({}, {}); }) == "chart: series 0 is empty");
  CHECK(error_of([] {
          Chart().scatter({1, 2}, {1}, "pts");
        }) == "chart: series 0 (\"pts\") has 2 x values but 1 y values");
  CHECK(error_of([&] {
          Chart().line({0}, {0}).line({0, 1}, {1, nan});
        }) == "chart: series 1: y[1] = nan is not finite");
  CHECK(error_of([&] { Chart().scatter({inf}, {1}); }) ==
        "chart: series 0: x[0] = inf is not finite");
  ChartOptions log;
  log.log_y = true;
  CHECK(error_of([&] {
          Chart(log).line({0, 1}, {1, 0}, "loss");
        }) == "chart: series 0 (\"loss\"): y[1] = 0 is not positive (log_y)");
  ChartOptions range;
  range.x_min = 2, range.x_max = 1;
  CHECK(error_of([&] { Chart{range}; }) == "chart: x_min = 2 is not below x_max = 1");
  ChartOptions tiny;
  tiny.width = 10;
  CHECK(error_of([&] { Chart{tiny}; }).find("chart: size 10 x 360") == 0);
  CHECK(error_of([] { Chart().line({0}, {0}, "", std::nullopt, 0); }) ==
        "chart: series 0: thickness 0 outside 1..5");
  CHECK(error_of([] { data::side_by_side({}); }) == "side_by_side: no images");
}

TEST_CASE("chart: a chart without series shows its axes; one point is a dot") {
  const Image empty = Chart().render();
  CHECK(find(empty, ChartColor{0, 0, 0}).count > 500);  // axes and tick labels
  Chart one;
  one.line({3}, {4}, "", red, 3);
  CHECK(find(one.render(), red).count == 9);
  // A range tiny against its values still renders (the tick loop is bounded).
  ChartOptions narrow;
  narrow.x_min = 1e20, narrow.x_max = std::nextafter(1e20, 2e20);
  Chart far(narrow);
  far.scatter({1e20}, {1}, "", red);
  CHECK(far.render().width == 640);
}
