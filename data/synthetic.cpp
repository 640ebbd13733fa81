#include "data/synthetic.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <numbers>

#include <fmt/ranges.h>

#include "data/dataset.h"
#include "data/rng.h"
#include "tensor/error.h"

namespace trip::data {

namespace {

constexpr double kPi = std::numbers::pi;

struct NamedColor {
  const char* name;
  Rgb rgb;
};
// Bright, saturated sprite colours; backgrounds stay dark (each channel <= 80) so every sprite
// stands out on every background.
constexpr NamedColor kColors[] = {{"red", {230, 40, 40}},     {"green", {40, 205, 60}},
                                  {"blue", {60, 100, 245}},   {"yellow", {240, 220, 40}},
                                  {"cyan", {40, 215, 225}},   {"magenta", {225, 55, 205}},
                                  {"orange", {250, 145, 30}}, {"white", {240, 240, 240}}};
constexpr Rgb kBackgrounds[] = {{0, 0, 0},    {40, 40, 40}, {20, 25, 55},
                                {25, 45, 30}, {55, 30, 30}, {70, 70, 80}};

struct Direction {
  double dx, dy;
  const char* word;
};
constexpr Direction kDirections[] = {
    {-1, 0, "left"}, {1, 0, "right"}, {0, -1, "up"}, {0, 1, "down"}};

constexpr const char* kMotionNames[] = {"move",   "bounce",  "rotate", "grow",
                                        "shrink", "stripes", "waves",  "flicker"};
constexpr int64_t kMotionCount = int64_t(std::size(kMotionNames));

double frac(double x) { return x - std::floor(x); }

// Reflects an unfolded coordinate into [lo, hi]: a point bouncing between two walls.
double bounce_between(double p, double lo, double hi) {
  const double w = hi - lo, t = frac((p - lo) / (2 * w)) * 2 * w;
  return lo + (t <= w ? t : 2 * w - t);
}

struct Sprite {
  Shape shape;
  double cx, cy, r, angle;
  // Derived once per frame by prepare(): rotation and triangle vertices (relative to the centre).
  double cos_a = 1, sin_a = 0, vx[3] = {}, vy[3] = {};

  void prepare() {
    cos_a = std::cos(angle);
    sin_a = std::sin(angle);
    for (int k = 0; k < 3; ++k) {  // equilateral triangle, circumradius 1.2 r, pointing up at 0
      const double a = angle - kPi / 2 + k * 2 * kPi / 3;
      vx[k] = 1.2 * r * std::cos(a);
      vy[k] = 1.2 * r * std::sin(a);
    }
  }
  double outer() const { return 1.2 * r; }  // no shape reaches beyond this distance
  double inner() const { return 0.6 * r; }  // every shape covers this disc (triangle inradius)
  bool contains(double x, double y) const {
    const double px = x - cx, py = y - cy;
    switch (shape) {
      case Shape::circle:
        return px * px + py * py <= r * r;
      case Shape::square: {  // half side 0.85 r: about the area of the circle
        const double lx = cos_a * px + sin_a * py, ly = -sin_a * px + cos_a * py, h = 0.85 * r;
        return std::abs(lx) <= h && std::abs(ly) <= h;
      }
      case Shape::triangle: {
        bool neg = false, pos = false;
        for (int k = 0; k < 3; ++k) {
          const int j = (k + 1) % 3;
          const double cross = (vx[j] - vx[k]) * (py - vy[k]) - (vy[j] - vy[k]) * (px - vx[k]);
          neg |= cross < 0;
          pos |= cross > 0;
        }
        return !(neg && pos);
      }
    }
    return false;
  }
};

bool is_sprite(Motion m) {
  return m == Motion::move || m == Motion::bounce || m == Motion::rotate || m == Motion::grow ||
         m == Motion::shrink;
}

Sprite sprite_at(const SyntheticSpec& s, double u) {
  Sprite sp{s.shape, s.x0, s.y0, s.radius, s.angle0};
  switch (s.motion) {
    case Motion::move:
      sp.cx += s.dx * s.travel * u;
      sp.cy += s.dy * s.travel * u;
      break;
    case Motion::bounce:
      sp.cx = bounce_between(s.x0 + s.dx * s.travel * u, s.radius, 1 - s.radius);
      sp.cy = bounce_between(s.y0 + s.dy * s.travel * u, s.radius, 1 - s.radius);
      break;
    case Motion::rotate:
      sp.angle += s.turn * u;
      break;
    case Motion::grow:
    case Motion::shrink:
      sp.r *= s.scale0 + (s.scale1 - s.scale0) * u;
      break;
    default:
      break;
  }
  sp.prepare();
  return sp;
}

// How much of the foreground colour covers point (x, y) at time u, in [0, 1]; `flicker` is the
// flicker brightness at u (computed once per frame).
double foreground(const SyntheticSpec& s, const Sprite& sp, double x, double y, double u,
                  double flicker) {
  const double along = x * s.dx + y * s.dy, across = -x * s.dy + y * s.dx;
  switch (s.motion) {
    case Motion::stripes:  // the pattern translates by travel periods along (dx, dy)
      return frac((along - s.travel * s.period * u) / s.period) < 0.5 ? 1.0 : 0.0;
    case Motion::waves: {
      const double bend = 0.15 * std::sin(2 * kPi * across / (1.7 * s.period));
      return 0.5 + 0.5 * std::sin(2 * kPi * ((along - s.travel * s.period * u) / s.period + bend));
    }
    case Motion::flicker: {
      const bool on = (int64_t(std::floor(x / s.period)) + int64_t(std::floor(y / s.period))) % 2;
      return on ? flicker : 0.0;
    }
    default:
      return sp.contains(x, y) ? 1.0 : 0.0;
  }
}

}  // namespace

const char* motion_name(Motion m) { return kMotionNames[int(m)]; }
Motion motion_from_name(const std::string& name) {
  for (int64_t m = 0; m < kMotionCount; ++m)
    if (name == kMotionNames[m]) return Motion(m);
  throw Error(fmt::format("unknown synthetic motion '{}' (known: {})", name,
                          fmt::join(kMotionNames, ", ")));
}

const char* shape_name(Shape s) {
  constexpr const char* names[] = {"circle", "square", "triangle"};
  return names[int(s)];
}

SyntheticSpec synthetic_spec(int64_t index, uint64_t seed, const SceneChoice& choice) {
  std::vector<const Direction*> directions;
  for (const std::string& word : choice.directions) {
    const auto* d = std::find_if(std::begin(kDirections), std::end(kDirections),
                                 [&](const Direction& k) { return word == k.word; });
    if (d == std::end(kDirections)) {
      std::vector<const char*> known;
      for (const Direction& k : kDirections) known.push_back(k.word);
      throw Error(fmt::format("synthetic_spec: unknown direction '{}' (known: {})", word,
                              fmt::join(known, ", ")));
    }
    directions.push_back(d);
  }
  // One draw each, from the chosen lists: with everything chosen the draws (and so the scenes)
  // are those of the full set.
  SplitMix64 rng(mix(seed, {uint64_t(index)}));
  SyntheticSpec s;
  s.motion = choice.motions.empty()
                 ? Motion(rng.below(kMotionCount))
                 : choice.motions[size_t(rng.below(int64_t(choice.motions.size())))];
  const NamedColor& color = kColors[rng.below(8)];
  s.color = color.rgb;
  s.color_name = color.name;
  s.shape = Shape(rng.below(3));
  s.background0 = kBackgrounds[rng.below(6)];
  s.background1 = rng.uniform() < 0.5 ? s.background0 : kBackgrounds[rng.below(6)];
  s.gradient = int(rng.below(3));
  const Direction& d = directions.empty()
                           ? kDirections[rng.below(4)]
                           : *directions[size_t(rng.below(int64_t(directions.size())))];
  s.dx = d.dx;
  s.dy = d.dy;
  s.direction = d.word;
  s.radius = rng.uniform(0.14, 0.2);
  const std::string sprite =
      std::string(s.color_name == "orange" ? "an " : "a ") + s.color_name + " ";
  switch (s.motion) {
    case Motion::move: {
      // The whole path stays inside the frame: start on the side the sprite moves away from.
      s.travel = rng.uniform(0.4, 0.55);
      const double lo = s.radius + 0.02, room = 1 - 2 * lo - s.travel;
      const double along = lo + rng.uniform() * std::max(0.0, room);
      const double across = lo + rng.uniform() * (1 - 2 * lo);
      const double start =
          (s.dx + s.dy) < 0 ? 1 - along : along;  // moving left/up: from the far side
      s.x0 = s.dx != 0 ? start : across;
      s.y0 = s.dx != 0 ? across : start;
      s.caption = sprite + shape_name(s.shape) + " moves " + s.direction;
      break;
    }
    case Motion::bounce: {
      // A diagonal heading (30..60 degrees off the axes) and a path of 1.5..2 times the room:
      // the major component alone is longer than the room, so at least one wall is hit.
      const double a = (kPi / 6 + rng.uniform() * kPi / 6) + kPi / 2 * double(rng.below(4));
      s.dx = std::cos(a);
      s.dy = std::sin(a);
      s.direction = "diagonally";
      s.travel = rng.uniform(1.5, 2.0) * (1 - 2 * s.radius);
      s.x0 = rng.uniform(s.radius, 1 - s.radius);
      s.y0 = rng.uniform(s.radius, 1 - s.radius);
      s.caption = sprite + shape_name(s.shape) + " bounces";
      break;
    }
    case Motion::rotate: {
      // A circle would look still: rotating sprites are squares or triangles, turned by less
      // than their symmetry angle (90 or 120 degrees) so the last frame differs from the first.
      if (s.shape == Shape::circle) s.shape = rng.uniform() < 0.5 ? Shape::square : Shape::triangle;
      s.radius = rng.uniform(0.24, 0.3);
      s.x0 = 0.5 + rng.uniform(-0.08, 0.08);
      s.y0 = 0.5 + rng.uniform(-0.08, 0.08);
      s.angle0 = rng.uniform(0, 2 * kPi);
      const double deg = s.shape == Shape::square ? rng.uniform(50, 70) : rng.uniform(75, 100);
      const bool clockwise = rng.uniform() < 0.5;
      s.turn = (clockwise ? 1 : -1) * deg * kPi / 180;
      s.direction = clockwise ? "clockwise" : "counterclockwise";
      s.caption = sprite + shape_name(s.shape) + " rotates " + s.direction;
      break;
    }
    case Motion::grow:
    case Motion::shrink: {
      s.radius = rng.uniform(0.26, 0.32);
      const double small = rng.uniform(0.35, 0.5);
      s.scale0 = s.motion == Motion::grow ? small : 1.0;
      s.scale1 = s.motion == Motion::grow ? 1.0 : small;
      s.x0 = 0.5 + rng.uniform(-0.1, 0.1);
      s.y0 = 0.5 + rng.uniform(-0.1, 0.1);
      s.direction = "";
      s.caption = sprite + shape_name(s.shape) + (s.motion == Motion::grow ? " grows" : " shrinks");
      break;
    }
    case Motion::stripes:
      // Under 0.2 periods per frame for 8 frames or more: the drift cannot alias backwards.
      s.period = rng.uniform(0.25, 0.35);
      s.travel = rng.uniform(1.1, 1.3);
      s.caption = std::string(s.color_name) + " stripes drift " + s.direction;
      break;
    case Motion::waves:
      s.period = rng.uniform(0.3, 0.45);
      s.travel = rng.uniform(1.1, 1.3);
      s.caption = std::string(s.color_name) + " waves move " + s.direction;
      break;
    case Motion::flicker:
      s.period = rng.uniform(0.2, 0.3);
      s.cycles =
          1.5 + double(rng.below(2));  // half cycles: the last frame is dark, the first bright
      s.direction = "";
      s.caption = sprite + "checkerboard flickers";
      break;
  }
  return s;
}

Video render_synthetic(const SyntheticSpec& s, int64_t frames, int64_t size, double fps) {
  TRIP_CHECK(frames > 0 && size > 0 && fps > 0,
             "render_synthetic: frames {}, size {} and fps {} must be positive", frames, size, fps);
  Video video(frames, size, size, fps);
  video.caption = s.caption;
  video.origin = std::string("synthetic:") + motion_name(s.motion);
  constexpr int kSub = 4;  // 4x4 supersampling: edges stay smooth at 32x32
  const double inv = 1.0 / double(size);
  for (int64_t f = 0; f < frames; ++f) {
    const double u = frames == 1 ? 0.0 : double(f) / double(frames - 1);
    const Sprite sp = sprite_at(s, u);
    const double flicker = 0.55 + 0.45 * std::cos(2 * kPi * s.cycles * u);
    uint8_t* out = video.frame(f);
    for (int64_t y = 0; y < size; ++y) {
      for (int64_t x = 0; x < size; ++x) {
        const double cx = (x + 0.5) * inv, cy = (y + 0.5) * inv;
        const double g = s.gradient == 0 ? cy : s.gradient == 1 ? cx : 0.5 * (cx + cy);
        double cover = 0;
        // Sprites: pixels wholly outside or inside the shape need no supersampling (the half
        // diagonal of a pixel is under 0.71 / size).
        const double dist = std::hypot(cx - sp.cx, cy - sp.cy), half = 0.71 * inv;
        if (is_sprite(s.motion) && dist > sp.outer() + half) {
          cover = 0;
        } else if (is_sprite(s.motion) && dist < sp.inner() - half) {
          cover = 1;
        } else if (s.motion == Motion::waves) {  // smooth (period >= 0.3 of the frame)
          cover = foreground(s, sp, cx, cy, u, flicker);
        } else {
          for (int sy = 0; sy < kSub; ++sy)
            for (int sx = 0; sx < kSub; ++sx)
              cover += foreground(s, sp, (x + (sx + 0.5) / kSub) * inv,
                                  (y + (sy + 0.5) / kSub) * inv, u, flicker);
          cover /= kSub * kSub;
        }
        for (int c = 0; c < 3; ++c) {
          const double bg =
              s.background0[size_t(c)] + (s.background1[size_t(c)] - s.background0[size_t(c)]) * g;
          const double v = bg + (s.color[size_t(c)] - bg) * cover;
          out[(y * size + x) * 3 + c] = uint8_t(std::lround(std::clamp(v, 0.0, 255.0)));
        }
      }
    }
  }
  return video;
}

Video synthesize(int64_t index, uint64_t seed, int64_t frames, int64_t size, double fps,
                 const SceneChoice& choice) {
  TRIP_CHECK(index >= 0, "synthesize: index {} must be non-negative", index);
  const SyntheticSpec spec = synthetic_spec(index, seed, choice);
  Video v = render_synthetic(spec, frames, size, fps);
  v.origin = fmt::format("synthetic:{}:{}:{}", motion_name(spec.motion), seed, index);
  return v;
}

void synthesize_dataset(const std::string& path, const SynthOptions& o,
                        const std::function<void(int64_t, int64_t)>& progress) {
  TRIP_CHECK(o.count > 0, "synthesize_dataset {}: count {} must be positive", path, o.count);
  DatasetWriter writer(path, {.overwrite = o.overwrite, .gzip = o.gzip});
  for (int64_t i = 0; i < o.count; ++i) {
    writer.append(synthesize(i, o.seed, o.frames, o.size, o.fps, o.choice));
    if (progress) progress(i + 1, o.count);
  }
  writer.close();
}

}  // namespace trip::data
