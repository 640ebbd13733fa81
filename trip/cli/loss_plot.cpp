#include "trip/cli/loss_plot.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "data/image.h"

namespace trip::cli {

namespace {

using data::Image;

// A 3x5 pixel font for axis labels: rows top to bottom, 3 bits each (bit 2 = left column).
int glyph_row(char c, int row) {
  static const char* chars = "0123456789.e-k";
  static const int rows[][5] = {{7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7},
                                {5, 5, 7, 1, 1}, {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1},
                                {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7}, {0, 0, 0, 0, 2}, {0, 7, 5, 6, 7},
                                {0, 0, 7, 0, 0}, {4, 5, 6, 5, 5}};
  for (int i = 0; chars[i]; ++i) {
    if (chars[i] == c) return rows[i][row];
  }
  return 0;
}

void set(Image& img, int64_t x, int64_t y, uint8_t r, uint8_t g, uint8_t b) {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  uint8_t* p = img.pixel(y, x);
  p[0] = r;
  p[1] = g;
  p[2] = b;
}

void text(Image& img, int64_t x, int64_t y, const std::string& s, int scale = 2) {
  for (char c : s) {
    for (int row = 0; row < 5; ++row) {
      for (int col = 0; col < 3; ++col) {
        if (!(glyph_row(c, row) >> (2 - col) & 1)) continue;
        for (int dy = 0; dy < scale; ++dy) {
          for (int dx = 0; dx < scale; ++dx)
            set(img, x + col * scale + dx, y + row * scale + dy, 0, 0, 0);
        }
      }
    }
    x += 4 * scale;
  }
}

void line(Image& img, int64_t x0, int64_t y0, int64_t x1, int64_t y1, uint8_t r, uint8_t g,
          uint8_t b) {
  const int64_t dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
  const int64_t sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  int64_t err = dx + dy;
  while (true) {  // Bresenham
    set(img, x0, y0, r, g, b);
    if (x0 == x1 && y0 == y1) break;
    const int64_t e2 = 2 * err;
    if (e2 >= dy) err += dy, x0 += sx;
    if (e2 <= dx) err += dx, y0 += sy;
  }
}

std::string decade_label(int exponent) {
  if (exponent >= 0 && exponent <= 3) return fmt::format("{}", int(std::pow(10, exponent)));
  if (exponent < 0 && exponent >= -3)
    return fmt::format("{:.{}f}", std::pow(10, exponent), -exponent);
  return fmt::format("1e{}", exponent);
}

}  // namespace

void save_loss_plot(const std::vector<std::pair<int64_t, double>>& losses,
                    const std::string& path) {
  const int64_t W = 640, H = 360, left = 60, right = 20, top = 20, bottom = 40;
  Image img(H, W, 255);
  std::vector<std::pair<int64_t, double>> finite;
  for (const auto& p : losses) {
    if (std::isfinite(p.second) && p.second > 0) finite.push_back(p);
  }
  line(img, left, H - bottom, W - right, H - bottom, 0, 0, 0);
  line(img, left, top, left, H - bottom, 0, 0, 0);
  if (!finite.empty()) {
    double lo = finite[0].second, hi = lo;
    for (const auto& p : finite) lo = std::min(lo, p.second), hi = std::max(hi, p.second);
    const double log_lo = std::floor(std::log10(lo)),
                 log_hi = std::max(std::ceil(std::log10(hi)), log_lo + 1);
    const int64_t first = finite.front().first, last = std::max(finite.back().first, first + 1);
    auto px = [&](int64_t step) {
      return left + (W - left - right) * (step - first) / (last - first);
    };
    auto py = [&](double loss) {
      const double f = (std::log10(loss) - log_lo) / (log_hi - log_lo);
      return H - bottom - static_cast<int64_t>(std::lround(f * double(H - top - bottom)));
    };
    for (int e = int(log_lo); e <= int(log_hi); ++e) {  // decade grid lines and labels
      const int64_t y = py(std::pow(10.0, e));
      for (int64_t x = left; x < W - right; x += 4) set(img, x, y, 200, 200, 200);
      text(img, 4, y - 5, decade_label(e));
    }
    text(img, left, H - bottom + 10, fmt::format("{}", first));
    const std::string last_label = fmt::format("{}", last);
    text(img, W - right - int64_t(last_label.size()) * 8, H - bottom + 10, last_label);
    for (const auto& [step, loss] : finite) set(img, px(step), py(loss), 160, 160, 160);
    double mean = finite[0].second;  // running mean: the trend through the noisy losses
    int64_t prev_x = px(finite[0].first), prev_y = py(mean);
    for (const auto& [step, loss] : finite) {
      mean = 0.9 * mean + 0.1 * loss;
      const int64_t x = px(step), y = py(mean);
      line(img, prev_x, prev_y, x, y, 200, 30, 30);
      prev_x = x, prev_y = y;
    }
  }
  data::save_png(img, path);
}

}  // namespace trip::cli
