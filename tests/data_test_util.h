// defines: helpers shared by the data/ tests: a fresh temporary folder per test and a patterned
// video whose every byte depends on its position.
#pragma once
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include "data/video.h"

namespace trip::test {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = std::filesystem::temp_directory_path() /
           ("trip_data_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
  // Files in the folder, to see that failed writes leave no temporary behind.
  int count() const {
    int n = 0;
    for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(path)) ++n;
    return n;
  }
};

inline data::Video patterned_video(int64_t frames, int64_t h, int64_t w, double fps, int salt) {
  data::Video v(frames, h, w, fps);
  for (size_t i = 0; i < v.rgb.size(); ++i) v.rgb[i] = uint8_t((i * 131 + size_t(salt) * 17) % 251);
  return v;
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace trip::test
