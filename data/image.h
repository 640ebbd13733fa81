// defines: Image, one 8-bit RGB picture, with load_image (PNG, JPEG, BMP, GIF's first frame, TGA,
// PSD, PNM, HDR: whatever stb_image decodes) and save_png / save_jpeg; the conversions between an
// Image and a frame of a Video.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/video.h"

namespace trip::data {

struct Image {
  int64_t height = 0, width = 0;
  std::vector<uint8_t> rgb;  // height x width x 3, row-major, interleaved RGB

  Image() = default;
  Image(int64_t height, int64_t width, uint8_t fill = 0);
  uint8_t* pixel(int64_t y, int64_t x) { return rgb.data() + (y * width + x) * 3; }
  const uint8_t* pixel(int64_t y, int64_t x) const { return rgb.data() + (y * width + x) * 3; }
  // Throws trip::Error for non-positive sizes or a pixel count that does not match them.
  void validate() const;
};

// Decodes an image file to 8-bit RGB (grey and palette images are expanded, alpha is dropped,
// 16-bit channels are reduced to 8 bits). Errors name the path and the reason: missing file,
// unreadable file, or the decoder's diagnosis of a corrupt / unsupported file.
Image load_image(const std::string& path);

// Lossless PNG (zlib level 8). Written to a temporary file beside `path`, then renamed.
void save_png(const Image& image, const std::string& path);
// Baseline JPEG at `quality` 1..100 (stb_image_write; 4:2:0 below quality 90). Same atomic write.
void save_jpeg(const Image& image, const std::string& path, int quality = 90);
// PNG for ".png", JPEG for ".jpg"/".jpeg" (case-insensitive); other extensions are an error.
void save_image(const Image& image, const std::string& path);

// Frame `f` of a video as an Image, and an Image as a one-frame Video at `fps`.
Image frame_image(const Video& video, int64_t f);
Video image_video(const Image& image, double fps = 1.0);

}  // namespace trip::data
