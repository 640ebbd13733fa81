// Helpers of the media tests: a scratch folder removed at the end, file writing, zombie checks.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "data/video.h"
#include "tensor/error.h"

namespace media_test {

// The message of the trip::Error `f` throws ("" when it throws none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const trip::Error& e) {
    return e.what();
  }
  return "";
}

// A fresh folder under the system's temporary folder, removed with everything in it.
struct ScratchDir {
  std::filesystem::path path;
  explicit ScratchDir(const std::string& name) {
    static int counter = 0;
    path = std::filesystem::temp_directory_path() /
           ("trip_" + name + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& file) const { return (path / file).string(); }
  // Names of the entries in the folder (to see that no temporary file was left behind).
  size_t entries() const {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(path)) n += e.path().empty() ? 0 : 1;
    return n;
  }
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

// True when this process has no child left, running or zombie.
inline bool no_children() { return ::waitpid(-1, nullptr, WNOHANG) == -1 && errno == ECHILD; }

// A clip of flat colours that moves: a background gradient in blocks of 4x4 pixels and a square
// that steps right by 4 pixels a frame. Flat 4x4 blocks survive scaling by area exactly.
inline trip::data::Video moving_square(int64_t frames, int64_t height, int64_t width, double fps) {
  trip::data::Video video(frames, height, width, fps);
  for (int64_t f = 0; f < frames; ++f)
    for (int64_t y = 0; y < height; ++y)
      for (int64_t x = 0; x < width; ++x) {
        uint8_t* p = video.frame(f) + (y * width + x) * 3;
        const bool square = y >= 8 && y < 20 && x >= 4 * f && x < 4 * f + 12;
        p[0] = square ? 240 : static_cast<uint8_t>(40 + (x / 4) * 16 % 160);
        p[1] = square ? 200 : static_cast<uint8_t>(60 + (y / 4) * 20 % 160);
        p[2] = square ? 30 : 120;
      }
  return video;
}

// Mean absolute difference of two equally sized byte arrays.
inline double mean_abs_error(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += std::abs(double(a[i]) - double(b[i]));
  return a.empty() ? 0 : sum / double(a.size());
}

}  // namespace media_test
