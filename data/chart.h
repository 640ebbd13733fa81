// defines: Chart, a small raster chart drawn straight into an Image (no plotting library): line and
// scatter series in distinct colours, axes with numeric tick labels in a 3x5 pixel font, optional
// log-scale y, a title and a legend; and side_by_side, several pictures in one row. Used by the
// loss curve of `trip train` (trip/cli/loss_plot.cpp) and by the lessons in examples/.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/image.h"

namespace trip::data {

using ChartColor = std::array<uint8_t, 3>;

// The colour of the i-th series when none is given: a qualitative palette of 8 colours that stay
// apart on white (blue, orange, green, red, purple, brown, pink, grey), then repeats.
ChartColor chart_palette(size_t i);

struct ChartOptions {
  int64_t width = 640, height = 360;  // the whole picture in pixels
  std::string title;                  // drawn above the plot area when not empty
  bool log_y = false;                 // y axis in decades; every y value must then be positive
  // Axis ranges: taken from the data (a linear y range padded by 5%, a log range rounded out to
  // whole decades) unless given here. A min must lie below its max.
  std::optional<double> x_min, x_max, y_min, y_max;
  bool grid = true;    // dotted grey lines at the y ticks
  bool legend = true;  // a box with the label of every series that has one
};

class Chart {
 public:
  explicit Chart(ChartOptions options = {});

  // A polyline through (x[i], y[i]) in the given order. x and y must have the same non-zero length
  // and finite values (positive y for log_y); violations throw a trip::Error naming the series,
  // the index and the value. `thickness` is the pen width in pixels (1..5).
  Chart& line(const std::vector<double>& x, const std::vector<double>& y, std::string label = "",
              std::optional<ChartColor> color = std::nullopt, int thickness = 2);
  // One dot per point, a filled square of side 2 * radius + 1 pixels (radius 0..5). Same checks.
  Chart& scatter(const std::vector<double>& x, const std::vector<double>& y, std::string label = "",
                 std::optional<ChartColor> color = std::nullopt, int radius = 1);

  // Draws the chart. A chart without series shows its axes over [0, 1] (or the given ranges).
  // Points outside the axis ranges are clipped at the plot area's border.
  Image render() const;
  // render() written as a PNG (save_png).
  void save(const std::string& path) const;

  const ChartOptions& options() const { return options_; }

 private:
  struct Series {
    std::vector<double> x, y;
    std::string label;
    ChartColor color;
    bool is_line;
    int size;  // line thickness or dot radius
  };
  void add(const std::vector<double>& x, const std::vector<double>& y, std::string label,
           std::optional<ChartColor> color, bool is_line, int size);
  ChartOptions options_;
  std::vector<Series> series_;
};

// Pictures side by side, top-aligned, separated by `separator` columns of white; the height is
// the tallest picture's (shorter ones are padded with white below). Throws on an empty list.
Image side_by_side(const std::vector<Image>& images, int separator = 8);

// Draws `text` into `image` with its top-left corner at (x, y) in the 3x5 pixel font, each font
// pixel `scale` x `scale` image pixels; characters advance 4 * scale pixels. The font has digits,
// letters (drawn as capitals), space and . , - + = : / ( ) _ % < > *; other characters are blank.
// Pixels outside the image are skipped.
void draw_text(Image& image, int64_t x, int64_t y, const std::string& text, ChartColor color = {},
               int scale = 2);
// The width in pixels of draw_text's output.
int64_t text_width(const std::string& text, int scale = 2);

}  // namespace trip::data
