// defines: built-in synthetic videos, a deterministic function of (index, seed): moving sprites
// (circles, squares, triangles that move, bounce, rotate, grow or shrink) and dynamic textures
// (drifting stripes, moving waves, a flickering checkerboard) on plain or gradient backgrounds,
// each captioned with what moves and how. SyntheticSpec is the scene; render_synthetic draws it
// at any length, size and frame rate (4x4 supersampled); synthesize_dataset writes a dataset.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/video.h"

namespace trip::data {

enum class Motion { move, bounce, rotate, grow, shrink, stripes, waves, flicker };
enum class Shape { circle, square, triangle };
const char* motion_name(Motion m);
const char* shape_name(Shape s);
// The motion called `name` ("move", "rotate", ...); an error lists the names otherwise.
Motion motion_from_name(const std::string& name);

// Which scenes synthetic_spec draws: only these motions and, for the motions that have one
// (move, stripes, waves), only these directions ("left", "right", "up", "down"). Empty means all.
// Narrow sets make easier datasets: a small model learns one kind of motion sooner than eight.
struct SceneChoice {
  std::vector<Motion> motions{};
  std::vector<std::string> directions{};
};

using Rgb = std::array<uint8_t, 3>;

// One scene. Positions and lengths are fractions of the frame side; motion is parameterised by
// the normalised time u = f / (F - 1) in [0, 1], so any number of frames shows the whole motion.
struct SyntheticSpec {
  Motion motion = Motion::move;
  Shape shape = Shape::circle;  // sprites only (move, bounce, rotate, grow, shrink)
  Rgb color{255, 255, 255};
  std::string color_name = "white";
  Rgb background0{0, 0, 0}, background1{0, 0, 0};  // equal for a plain background
  int gradient = 0;  // 0 vertical (top to bottom), 1 horizontal, 2 diagonal
  // Direction of motion as a unit vector in image coordinates (y points down) and its word.
  double dx = -1, dy = 0;
  std::string direction = "left";
  double x0 = 0.5, y0 = 0.5;      // sprite centre at u = 0
  double radius = 0.18;           // sprite circumradius-like size (circle radius)
  double travel = 0.5;            // move/bounce: path length over the video; textures: in periods
  double angle0 = 0, turn = 0;    // rotate: start angle and total turn (radians; > 0 clockwise)
  double scale0 = 1, scale1 = 1;  // grow/shrink: radius factor at u = 0 and u = 1
  double period = 0.3;            // textures: spatial period
  double cycles = 2.5;            // flicker: on/off cycles over the video
  std::string caption;            // "a red circle moves left"
};

// The scene of video `index` under `seed` (a pure function: no global state). The default choice
// (everything) draws the same scenes as listing every motion and direction in enum order.
SyntheticSpec synthetic_spec(int64_t index, uint64_t seed, const SceneChoice& choice = {});
// Draws the scene: frames x size x size at fps, origin "synthetic:<motion>".
Video render_synthetic(const SyntheticSpec& spec, int64_t frames, int64_t size, double fps);
// render_synthetic(synthetic_spec(index, seed), ...), origin "synthetic:<motion>:<seed>:<index>".
Video synthesize(int64_t index, uint64_t seed, int64_t frames = 16, int64_t size = 32,
                 double fps = 8.0, const SceneChoice& choice = {});

struct SynthOptions {
  int64_t count = 1000;  // videos
  uint64_t seed = 0;
  int64_t frames = 16;
  int64_t size = 32;
  double fps = 8.0;
  bool overwrite = false;  // replace an existing file
  int gzip = 4;            // deflate level of the frames (0 = off)
  SceneChoice choice{};    // which motions and directions (default: all)
};
// Writes videos 0..count-1 to `path` (atomically: see DatasetWriter). `progress(done, total)` is
// called after each video when given.
void synthesize_dataset(const std::string& path, const SynthOptions& options,
                        const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace trip::data
