#include "data/image.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "data/atomic_file.h"
#include "tensor/error.h"

// stb's implementations are compiled here as file-local (static) functions: no symbol can clash
// with another copy of stb linked into the program, and only what we use is kept. The Debian
// package puts the headers in /usr/include/stb (its pkg-config file adds that folder).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
// Refuse absurd sizes before allocating (a corrupt header could ask for gigabytes).
#define STBI_MAX_DIMENSIONS (1 << 15)
#if __has_include(<stb/stb_image.h>)
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
#else
#include <stb_image.h>
#include <stb_image_write.h>
#endif
#pragma GCC diagnostic pop

namespace trip::data {

namespace fs = std::filesystem;

Image::Image(int64_t h, int64_t w, uint8_t fill) : height(h), width(w) {
  TRIP_CHECK(h > 0 && w > 0, "Image: height {} and width {} must be positive", h, w);
  rgb.assign(static_cast<size_t>(h * w * 3), fill);
}

void Image::validate() const {
  TRIP_CHECK(height > 0 && width > 0, "Image: height {} and width {} must be positive", height,
             width);
  TRIP_CHECK(rgb.size() == static_cast<size_t>(height * width * 3),
             "Image: {} bytes of pixels for {}x{} RGB (expected {})", rgb.size(), width, height,
             height * width * 3);
}

Image load_image(const std::string& path) {
  std::error_code ec;
  TRIP_CHECK(fs::exists(path, ec), "load_image: '{}' does not exist", path);
  TRIP_CHECK(!fs::is_directory(path, ec), "load_image: '{}' is a folder, not an image", path);
  std::ifstream file(path, std::ios::binary);
  TRIP_CHECK(file.good(), "load_image: cannot open '{}': {}", path, std::strerror(errno));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)),
                             std::istreambuf_iterator<char>());
  TRIP_CHECK(!file.bad(), "load_image: cannot read '{}': {}", path, std::strerror(errno));
  TRIP_CHECK(!bytes.empty(), "load_image: '{}' is empty", path);
  TRIP_CHECK(bytes.size() <= static_cast<size_t>(INT32_MAX), "load_image: '{}' is too large", path);
  int w = 0, h = 0, channels = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &channels, 3),
      stbi_image_free);
  TRIP_CHECK(pixels != nullptr, "load_image: cannot decode '{}': {}", path,
             stbi_failure_reason() ? stbi_failure_reason() : "unknown error");
  Image image(h, w);
  std::memcpy(image.rgb.data(), pixels.get(), image.rgb.size());
  return image;
}

namespace {

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  const auto* bytes = static_cast<const uint8_t*>(data);
  out->insert(out->end(), bytes, bytes + size);
}

void check_writable_size(const Image& image, const char* what, const std::string& path) {
  image.validate();
  // stb_image_write takes int sizes and strides.
  TRIP_CHECK(image.width * 3 <= INT32_MAX && image.height <= INT32_MAX,
             "{}: {}x{} is too large to write '{}'", what, image.width, image.height, path);
}

std::string lower_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

}  // namespace

void save_png(const Image& image, const std::string& path) {
  check_writable_size(image, "save_png", path);
  std::vector<uint8_t> encoded;
  const int ok = stbi_write_png_to_func(append_bytes, &encoded, static_cast<int>(image.width),
                                        static_cast<int>(image.height), 3, image.rgb.data(),
                                        static_cast<int>(image.width * 3));
  TRIP_CHECK(ok != 0, "save_png: cannot encode {}x{} image for '{}'", image.width, image.height,
             path);
  write_file_atomically(path, encoded);
}

void save_jpeg(const Image& image, const std::string& path, int quality) {
  check_writable_size(image, "save_jpeg", path);
  TRIP_CHECK(quality >= 1 && quality <= 100, "save_jpeg: quality {} is outside 1..100", quality);
  std::vector<uint8_t> encoded;
  const int ok =
      stbi_write_jpg_to_func(append_bytes, &encoded, static_cast<int>(image.width),
                             static_cast<int>(image.height), 3, image.rgb.data(), quality);
  TRIP_CHECK(ok != 0, "save_jpeg: cannot encode {}x{} image for '{}'", image.width, image.height,
             path);
  write_file_atomically(path, encoded);
}

void save_image(const Image& image, const std::string& path) {
  const std::string ext = lower_extension(path);
  if (ext == ".png") return save_png(image, path);
  if (ext == ".jpg" || ext == ".jpeg") return save_jpeg(image, path);
  fail("save_image: cannot tell the format of '{}' (use .png, .jpg or .jpeg)", path);
}

Image frame_image(const Video& video, int64_t f) {
  video.validate();
  TRIP_CHECK(f >= 0 && f < video.frames, "frame_image: frame {} is outside the video's {} frames",
             f, video.frames);
  Image image(video.height, video.width);
  std::memcpy(image.rgb.data(), video.frame(f), video.frame_bytes());
  return image;
}

Video image_video(const Image& image, double fps) {
  image.validate();
  Video video(1, image.height, image.width, fps);
  video.rgb = image.rgb;
  return video;
}

}  // namespace trip::data
