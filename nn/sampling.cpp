#include "nn/sampling.h"

#include "autograd/functions.h"

namespace trip::nn {

Tensor upsample_nearest2x(const Tensor& x) {
  TRIP_CHECK(x.dim() == 4, "upsample_nearest2x: expected [B, C, H, W], got {}", x.shape());
  int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  // [B, C, H, 1, W, 1] -> broadcast to [B, C, H, 2, W, 2] -> [B, C, 2H, 2W]; the expand's
  // backward sums each 2x2 block, which is exactly the gradient of nearest upsampling.
  Tensor blocks = expand(reshape(x, {b, c, h, 1, w, 1}), {b, c, h, 2, w, 2});
  return reshape(blocks, {b, c, 2 * h, 2 * w});
}

Tensor avg_pool2x(const Tensor& x) {
  TRIP_CHECK(x.dim() == 4 && x.size(2) % 2 == 0 && x.size(3) % 2 == 0,
             "avg_pool2x: expected [B, C, H, W] with even H and W, got {}", x.shape());
  int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  return mean(reshape(x, {b, c, h / 2, 2, w / 2, 2}), {3, 5});
}

Upsample2D::Upsample2D(int64_t channels_, bool use_conv, int64_t out)
    : Module("Upsample2D"), channels(channels_), out_channels(out > 0 ? out : channels_) {
  if (use_conv)
    conv = register_module("conv", std::make_shared<Conv2d>(channels, out_channels, 3, 1, 1));
  TRIP_CHECK(conv || out_channels == channels,
             "Upsample2D: changing channels ({} -> {}) needs use_conv", channels, out_channels);
}

Tensor Upsample2D::forward(const Tensor& x) const {
  TRIP_CHECK(x.dim() == 4 && x.size(1) == channels, "Upsample2D: expected [B, {}, H, W], got {}",
             channels, x.shape());
  Tensor y = upsample_nearest2x(x);
  return conv ? conv->forward(y) : y;
}

std::string Upsample2D::extra_repr() const {
  return fmt::format("{} -> {}, nearest x2", channels, out_channels);
}

Downsample2D::Downsample2D(int64_t channels_, bool use_conv, int64_t out, int64_t padding)
    : Module("Downsample2D"), channels(channels_), out_channels(out > 0 ? out : channels_) {
  if (use_conv)
    conv = register_module(
        "conv", std::make_shared<Conv2d>(channels, out_channels, 3, /*stride=*/2, padding));
  TRIP_CHECK(conv || out_channels == channels,
             "Downsample2D: changing channels ({} -> {}) needs use_conv", channels, out_channels);
}

Tensor Downsample2D::forward(const Tensor& x) const {
  TRIP_CHECK(x.dim() == 4 && x.size(1) == channels, "Downsample2D: expected [B, {}, H, W], got {}",
             channels, x.shape());
  return conv ? conv->forward(x) : avg_pool2x(x);
}

std::string Downsample2D::extra_repr() const {
  return fmt::format("{} -> {}, stride 2", channels, out_channels);
}

}  // namespace trip::nn
