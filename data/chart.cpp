// defines: Chart (line and scatter series, ticks, legend), side_by_side and the 3x5 pixel font
// (draw_text, text_width). Everything is drawn with integer pixel operations on an Image.
#include "data/chart.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "tensor/error.h"

namespace trip::data {

namespace {

// The 3x5 font: rows top to bottom, 3 bits each (bit 2 = left column). Letters are capitals;
// lower case is drawn with the same glyphs.
int glyph_row(char c, int row) {
  static const char* chars = "0123456789.e-kabcdfghijlmnopqrstuvwxyz ,+=:/()_%<>*";
  static const int rows[][5] = {
      {7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7},
      {5, 5, 7, 1, 1},  // 0-4
      {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1}, {7, 5, 7, 5, 7},
      {7, 5, 7, 1, 7},                                                     // 5-9
      {0, 0, 0, 0, 2}, {7, 4, 6, 4, 7}, {0, 0, 7, 0, 0}, {5, 5, 6, 5, 5},  // . e - k
      {2, 5, 7, 5, 5}, {6, 5, 6, 5, 6}, {3, 4, 4, 4, 3}, {6, 5, 5, 5, 6},
      {7, 4, 6, 4, 4},  // a b c d f
      {3, 4, 5, 5, 3}, {5, 5, 7, 5, 5}, {7, 2, 2, 2, 7}, {1, 1, 1, 5, 2},
      {4, 4, 4, 4, 7},  // g h i j l
      {5, 7, 7, 5, 5}, {6, 5, 5, 5, 5}, {2, 5, 5, 5, 2}, {6, 5, 6, 4, 4},
      {2, 5, 5, 6, 3},  // m n o p q
      {6, 5, 6, 5, 5}, {3, 4, 2, 1, 6}, {7, 2, 2, 2, 2}, {5, 5, 5, 5, 7},
      {5, 5, 5, 5, 2},                                                     // r s t u v
      {5, 5, 7, 7, 5}, {5, 5, 2, 5, 5}, {5, 5, 2, 2, 2}, {7, 1, 2, 4, 7},  // w x y z
      {0, 0, 0, 0, 0}, {0, 0, 0, 2, 4}, {0, 2, 7, 2, 0}, {0, 7, 0, 7, 0},
      {0, 2, 0, 2, 0},  // sp , + = :
      {1, 1, 2, 4, 4}, {1, 2, 2, 2, 1}, {4, 2, 2, 2, 4}, {0, 0, 0, 0, 7},
      {5, 1, 2, 4, 5},                                     // / ( ) _ %
      {1, 2, 4, 2, 1}, {4, 2, 1, 2, 4}, {0, 5, 2, 5, 0}};  // < > *
  const char lower = (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
  const char* at = lower ? std::strchr(chars, lower) : nullptr;
  return at ? rows[at - chars][row] : 0;
}

struct Rect {  // pixels x0..x1, y0..y1 inclusive
  int64_t x0, y0, x1, y1;
};

void put(Image& img, int64_t x, int64_t y, ChartColor c) {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  uint8_t* p = img.pixel(y, x);
  p[0] = c[0], p[1] = c[1], p[2] = c[2];
}

void put_in(Image& img, const Rect& clip, int64_t x, int64_t y, ChartColor c) {
  if (x >= clip.x0 && x <= clip.x1 && y >= clip.y0 && y <= clip.y1) put(img, x, y, c);
}

void fill(Image& img, const Rect& r, ChartColor c) {
  for (int64_t y = r.y0; y <= r.y1; ++y) {
    for (int64_t x = r.x0; x <= r.x1; ++x) put(img, x, y, c);
  }
}

// A square pen of `width` pixels centred on each pixel of a Bresenham line, clipped to `clip`.
void segment(Image& img, const Rect& clip, int64_t x0, int64_t y0, int64_t x1, int64_t y1,
             ChartColor c, int width) {
  const int64_t dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
  const int64_t sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  const int lo = -(width - 1) / 2, hi = width / 2;
  int64_t err = dx + dy;
  while (true) {
    for (int oy = lo; oy <= hi; ++oy) {
      for (int ox = lo; ox <= hi; ++ox) put_in(img, clip, x0 + ox, y0 + oy, c);
    }
    if (x0 == x1 && y0 == y1) break;
    const int64_t e2 = 2 * err;
    if (e2 >= dy) err += dy, x0 += sx;
    if (e2 <= dx) err += dx, y0 += sy;
  }
}

// Cuts the segment (pixel coordinates, doubles) to the box, one side at a time; false when it
// misses. A cut end is put exactly on the side it crosses, so a vertical segment from -1e300 to
// 1e300 keeps its x exactly; and Bresenham never sees the huge coordinates of far-away points.
bool clip_segment(double& x0, double& y0, double& x1, double& y1, double bx0, double by0,
                  double bx1, double by1) {
  auto cut = [](double& a0, double& b0, double& a1, double& b1, double bound, bool keep_above) {
    const bool in0 = keep_above ? a0 >= bound : a0 <= bound;
    const bool in1 = keep_above ? a1 >= bound : a1 <= bound;
    if (!in0 && !in1) return false;
    if (in0 && in1) return true;
    double& a = in0 ? a1 : a0;  // the end outside
    double& b = in0 ? b1 : b0;
    const double a_in = in0 ? a0 : a1, b_in = in0 ? b0 : b1;
    b = b_in + (bound - a_in) / (a - a_in) * (b - b_in);
    a = bound;
    return true;
  };
  return cut(x0, y0, x1, y1, bx0, true) && cut(x0, y0, x1, y1, bx1, false) &&
         cut(y0, x0, y1, x1, by0, true) && cut(y0, x0, y1, x1, by1, false);
}

// Tick positions: multiples of a step of 1, 2 or 5 times a power of ten, about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target, double& step) {
  const double raw = (hi - lo) / target, power = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / power;
  step = (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * power;
  std::vector<double> ticks;
  // At most 50 ticks: with a range tiny against its values (1e20 .. 1e20 + 1e4), k + 1 == k.
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9 && ticks.size() < 50;
       k += 1) {
    ticks.push_back(std::abs(k * step) < step * 1e-9 ? 0.0 : k * step);
  }
  return ticks;
}

// A tick label with as many decimals as the step needs; 20000 -> "20k"; e-notation when huge or
// tiny ("1e-5", "2.5e7").
std::string tick_label(double v, double step) {
  const double a = std::abs(v);
  if (a != 0 && (a >= 1e7 || a < 1e-3)) {
    std::string s = fmt::format("{:.2g}", v);  // "1e-05", "2.5e+07"
    const size_t e = s.find('e');
    std::string exponent = s.substr(e + 1);
    const bool negative = exponent[0] == '-';
    exponent.erase(0, exponent.find_first_not_of("+-0"));
    return s.substr(0, e) + "e" + (negative ? "-" : "") + exponent;
  }
  if (a >= 1e4 && std::fmod(a, 1000) == 0 && step >= 1000) return fmt::format("{}k", v / 1000);
  const int decimals = std::max(0, int(-std::floor(std::log10(step) + 1e-9)));
  return fmt::format("{:.{}f}", v, decimals);
}

std::string decade_label(int exponent) {
  if (exponent >= 0 && exponent <= 4) return fmt::format("{}", int64_t(std::pow(10, exponent)));
  if (exponent < 0 && exponent >= -3)
    return fmt::format("{:.{}f}", std::pow(10, exponent), -exponent);
  return fmt::format("1e{}", exponent);
}

std::string series_name(size_t i, const std::string& label) {
  return label.empty() ? fmt::format("series {}", i) : fmt::format("series {} (\"{}\")", i, label);
}

}  // namespace

ChartColor chart_palette(size_t i) {
  static const ChartColor colors[] = {{31, 119, 180},  {255, 127, 14},  {44, 160, 44},
                                      {214, 39, 40},   {148, 103, 189}, {140, 86, 75},
                                      {227, 119, 194}, {127, 127, 127}};
  return colors[i % 8];
}

void draw_text(Image& image, int64_t x, int64_t y, const std::string& text, ChartColor color,
               int scale) {
  for (char c : text) {
    for (int row = 0; row < 5; ++row) {
      for (int col = 0; col < 3; ++col) {
        if (!(glyph_row(c, row) >> (2 - col) & 1)) continue;
        fill(image,
             {x + col * scale, y + row * scale, x + col * scale + scale - 1,
              y + row * scale + scale - 1},
             color);
      }
    }
    x += 4 * scale;
  }
}

int64_t text_width(const std::string& text, int scale) {
  return text.empty() ? 0 : int64_t(text.size()) * 4 * scale - scale;
}

Chart::Chart(ChartOptions options) : options_(std::move(options)) {
  const ChartOptions& o = options_;
  TRIP_CHECK(o.width >= 160 && o.height >= 120 && o.width <= 8192 && o.height <= 8192,
             "chart: size {} x {} outside 160..8192 x 120..8192 pixels", o.width, o.height);
  auto check_range = [](const char* axis, const std::optional<double>& lo,
                        const std::optional<double>& hi) {
    TRIP_CHECK(!lo || std::isfinite(*lo), "chart: {}_min = {} is not finite", axis, *lo);
    TRIP_CHECK(!hi || std::isfinite(*hi), "chart: {}_max = {} is not finite", axis, *hi);
    TRIP_CHECK(!lo || !hi || *lo < *hi, "chart: {}_min = {} is not below {}_max = {}", axis, *lo,
               axis, *hi);
  };
  check_range("x", o.x_min, o.x_max);
  check_range("y", o.y_min, o.y_max);
  TRIP_CHECK(!o.log_y || ((!o.y_min || *o.y_min > 0) && (!o.y_max || *o.y_max > 0)),
             "chart: log_y needs a positive y range, got y_min = {}, y_max = {}",
             o.y_min.value_or(NAN), o.y_max.value_or(NAN));
}

void Chart::add(const std::vector<double>& x, const std::vector<double>& y, std::string label,
                std::optional<ChartColor> color, bool is_line, int size) {
  const size_t index = series_.size();
  const std::string name = series_name(index, label);
  TRIP_CHECK(!x.empty(), "chart: {} is empty", name);
  TRIP_CHECK(x.size() == y.size(), "chart: {} has {} x values but {} y values", name, x.size(),
             y.size());
  TRIP_CHECK(is_line ? (size >= 1 && size <= 5) : (size >= 0 && size <= 5),
             "chart: {}: {} {} outside {}..5", name, is_line ? "thickness" : "radius", size,
             is_line ? 1 : 0);
  for (size_t i = 0; i < x.size(); ++i) {
    TRIP_CHECK(std::isfinite(x[i]), "chart: {}: x[{}] = {} is not finite", name, i, x[i]);
    TRIP_CHECK(std::isfinite(y[i]), "chart: {}: y[{}] = {} is not finite", name, i, y[i]);
    TRIP_CHECK(!options_.log_y || y[i] > 0, "chart: {}: y[{}] = {} is not positive (log_y)", name,
               i, y[i]);
  }
  series_.push_back({x, y, std::move(label), color.value_or(chart_palette(index)), is_line, size});
}

Chart& Chart::line(const std::vector<double>& x, const std::vector<double>& y, std::string label,
                   std::optional<ChartColor> color, int thickness) {
  add(x, y, std::move(label), color, true, thickness);
  return *this;
}

Chart& Chart::scatter(const std::vector<double>& x, const std::vector<double>& y, std::string label,
                      std::optional<ChartColor> color, int radius) {
  add(x, y, std::move(label), color, false, radius);
  return *this;
}

Image Chart::render() const {
  const ChartOptions& o = options_;
  constexpr ChartColor black{0, 0, 0}, grid_grey{210, 210, 210};
  Image img(o.height, o.width, 255);

  // Data ranges, then the axis ranges (given, or from the data).
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  bool all_lines = true;
  for (const Series& s : series_) {
    all_lines = all_lines && s.is_line;
    for (size_t i = 0; i < s.x.size(); ++i) {
      xlo = std::min(xlo, s.x[i]), xhi = std::max(xhi, s.x[i]);
      ylo = std::min(ylo, s.y[i]), yhi = std::max(yhi, s.y[i]);
    }
  }
  if (series_.empty()) xlo = 0, xhi = 1, ylo = o.log_y ? 1 : 0, yhi = o.log_y ? 10 : 1;
  auto widen = [](double& lo, double& hi, double pad) {  // a flat range gets some height
    if (hi - lo <= std::abs(hi) * 1e-12) {
      const double d = lo == 0 ? 0.5 : std::abs(lo) * 0.1;
      lo -= d, hi += d;
    } else {
      const double d = (hi - lo) * pad;
      lo -= d, hi += d;
    }
  };
  widen(xlo, xhi, all_lines ? 0.0 : 0.05);
  if (o.log_y) {
    ylo = std::floor(std::log10(o.y_min.value_or(ylo)));
    yhi = std::max(std::ceil(std::log10(o.y_max.value_or(yhi))), ylo + 1);
    if (o.y_min) ylo = std::log10(*o.y_min);
    if (o.y_max) yhi = std::log10(*o.y_max);
  } else {
    widen(ylo, yhi, 0.05);
    ylo = o.y_min.value_or(ylo), yhi = o.y_max.value_or(yhi);
  }
  xlo = o.x_min.value_or(xlo), xhi = o.x_max.value_or(xhi);
  TRIP_CHECK(xlo < xhi && ylo < yhi, "chart: empty axis range x [{}, {}], y [{}, {}]", xlo, xhi,
             ylo, yhi);

  // Tick labels decide the left margin.
  std::vector<std::pair<double, std::string>> yticks, xticks;  // (value on the axis, label)
  if (o.log_y) {
    const int first = int(std::ceil(ylo - 1e-9)), last = int(std::floor(yhi + 1e-9));
    const int every = std::max(1, (last - first + 7) / 8);
    for (int e = first; e <= last; e += every) yticks.push_back({double(e), decade_label(e)});
  } else {
    double step = 0;
    for (double v : nice_ticks(ylo, yhi, 6, step)) yticks.push_back({v, tick_label(v, step)});
  }
  int64_t label_w = 0;
  for (const auto& t : yticks) label_w = std::max(label_w, text_width(t.second));
  const int64_t left = label_w + 14, right = 16, top = o.title.empty() ? 12 : 30, bottom = 30;
  const Rect plot{left, top, o.width - right, o.height - bottom};
  const double pw = double(plot.x1 - plot.x0), ph = double(plot.y1 - plot.y0);
  auto fx = [&](double x) { return plot.x0 + (x - xlo) / (xhi - xlo) * pw; };
  auto fy = [&](double y) {
    const double v = o.log_y ? std::log10(y) : y;
    return plot.y1 - (v - ylo) / (yhi - ylo) * ph;
  };
  {
    double step = 0;
    const int target = int(std::max<int64_t>(2, (plot.x1 - plot.x0) / 90));
    for (double v : nice_ticks(xlo, xhi, target, step)) xticks.push_back({v, tick_label(v, step)});
  }

  // Grid, axes, ticks and labels.
  for (const auto& [v, label] : yticks) {
    const int64_t y = std::lround(plot.y1 - (v - ylo) / (yhi - ylo) * ph);
    if (o.grid) {
      for (int64_t x = plot.x0; x <= plot.x1; x += 4) put(img, x, y, grid_grey);
    }
    segment(img, {0, 0, o.width - 1, o.height - 1}, plot.x0 - 4, y, plot.x0, y, black, 1);
    draw_text(img, plot.x0 - 8 - text_width(label), y - 5, label);
  }
  for (const auto& [v, label] : xticks) {
    const int64_t x = std::lround(fx(v));
    if (o.grid) {
      for (int64_t y = plot.y0; y <= plot.y1; y += 4) put(img, x, y, grid_grey);
    }
    segment(img, {0, 0, o.width - 1, o.height - 1}, x, plot.y1, x, plot.y1 + 4, black, 1);
    const int64_t w = text_width(label);
    draw_text(img, std::clamp<int64_t>(x - w / 2, 0, o.width - w), plot.y1 + 9, label);
  }
  segment(img, plot, plot.x0, plot.y1, plot.x1, plot.y1, black, 1);
  segment(img, plot, plot.x0, plot.y0, plot.x0, plot.y1, black, 1);
  if (!o.title.empty()) {
    draw_text(img, std::max<int64_t>(0, (o.width - text_width(o.title)) / 2), 8, o.title);
  }

  // The series, clipped to the plot area (one pixel inside the axes).
  const Rect inner{plot.x0 + 1, plot.y0, plot.x1, plot.y1 - 1};
  for (const Series& s : series_) {
    if (s.is_line) {
      for (size_t i = 0; i + 1 < s.x.size() || (s.x.size() == 1 && i == 0); ++i) {
        const size_t j = std::min(i + 1, s.x.size() - 1);
        double x0 = fx(s.x[i]), y0 = fy(s.y[i]), x1 = fx(s.x[j]), y1 = fy(s.y[j]);
        if (!clip_segment(x0, y0, x1, y1, double(inner.x0) - 8, double(inner.y0) - 8,
                          double(inner.x1) + 8, double(inner.y1) + 8)) {
          continue;
        }
        segment(img, inner, std::lround(x0), std::lround(y0), std::lround(x1), std::lround(y1),
                s.color, s.size);
      }
    } else {
      for (size_t i = 0; i < s.x.size(); ++i) {
        const double x = fx(s.x[i]), y = fy(s.y[i]);
        if (x < inner.x0 - 6 || x > inner.x1 + 6 || y < inner.y0 - 6 || y > inner.y1 + 6) continue;
        const int64_t cx = std::lround(x), cy = std::lround(y);
        for (int64_t py = cy - s.size; py <= cy + s.size; ++py) {
          for (int64_t px = cx - s.size; px <= cx + s.size; ++px)
            put_in(img, inner, px, py, s.color);
        }
      }
    }
  }

  // The legend, in the corner of the plot area that covers the fewest points.
  std::vector<const Series*> labelled;
  int64_t legend_w = 0;
  for (const Series& s : series_) {
    if (!s.label.empty())
      labelled.push_back(&s), legend_w = std::max(legend_w, text_width(s.label));
  }
  if (o.legend && !labelled.empty()) {
    const int64_t w = legend_w + 34, h = int64_t(labelled.size()) * 14 + 8;
    int64_t best = -1, best_x = 0, best_y = 0;
    for (int corner = 0; corner < 4; ++corner) {
      const int64_t bx = corner % 2 ? inner.x0 + 6 : inner.x1 - 6 - w;
      const int64_t by = corner / 2 ? inner.y1 - 6 - h : inner.y0 + 6;
      int64_t covered = 0;
      for (const Series& s : series_) {
        for (size_t i = 0; i < s.x.size(); ++i) {
          const double x = fx(s.x[i]), y = fy(s.y[i]);
          covered += x >= bx && x <= bx + w && y >= by && y <= by + h;
        }
      }
      if (best < 0 || covered < best) best = covered, best_x = bx, best_y = by;
    }
    fill(img, {best_x, best_y, best_x + w, best_y + h}, {255, 255, 255});
    const Rect all{0, 0, o.width - 1, o.height - 1};
    segment(img, all, best_x, best_y, best_x + w, best_y, grid_grey, 1);
    segment(img, all, best_x, best_y + h, best_x + w, best_y + h, grid_grey, 1);
    segment(img, all, best_x, best_y, best_x, best_y + h, grid_grey, 1);
    segment(img, all, best_x + w, best_y, best_x + w, best_y + h, grid_grey, 1);
    for (size_t i = 0; i < labelled.size(); ++i) {
      const Series& s = *labelled[i];
      const int64_t y = best_y + 6 + int64_t(i) * 14, mid = y + 4;
      if (s.is_line) {
        segment(img, all, best_x + 6, mid, best_x + 20, mid, s.color, std::max(2, s.size));
      } else {
        fill(img, {best_x + 11, mid - 2, best_x + 15, mid + 2}, s.color);
      }
      draw_text(img, best_x + 26, y, s.label);
    }
  }
  return img;
}

void Chart::save(const std::string& path) const { save_png(render(), path); }

Image side_by_side(const std::vector<Image>& images, int separator) {
  TRIP_CHECK(!images.empty(), "side_by_side: no images");
  TRIP_CHECK(separator >= 0, "side_by_side: separator {} is negative", separator);
  int64_t width = 0, height = 0;
  for (const Image& im : images) {
    im.validate();
    width += im.width, height = std::max(height, im.height);
  }
  width += int64_t(separator) * int64_t(images.size() - 1);
  Image out(height, width, 255);
  int64_t x0 = 0;
  for (const Image& im : images) {
    for (int64_t y = 0; y < im.height; ++y) {
      std::memcpy(out.pixel(y, x0), im.pixel(y, 0), size_t(im.width) * 3);
    }
    x0 += im.width + separator;
  }
  return out;
}

}  // namespace trip::data
