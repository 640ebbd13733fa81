#include "nn/conv.h"

#include <cmath>
#include <utility>

#include "autograd/functions.h"
#include "nn/init.h"

namespace trip::nn {

namespace {

template <size_t N>
std::string size_str(const std::array<int64_t, N>& s) {
  std::string out = "(";
  for (size_t i = 0; i < N; ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + ")";
}

// The weight shape [out, in / groups, *kernel] of torch's _ConvNd.
template <size_t N>
Dims weight_shape(int64_t in, int64_t out, int64_t groups, const std::array<int64_t, N>& kernel,
                  const char* type) {
  TRIP_CHECK(groups >= 1 && in % groups == 0 && out % groups == 0,
             "{}: channels in={} out={} not divisible by groups={}", type, in, out, groups);
  Dims shape{out, in / groups};
  for (int64_t k : kernel) shape.push_back(k);
  return shape;
}

// PyTorch's default init of a convolution: kaiming_uniform(a = sqrt 5) weight, U(+-1/sqrt(fan_in))
// bias (undefined without one). Shared by every ConvNd.
template <size_t N>
std::pair<Tensor, Tensor> init_conv(int64_t in, int64_t out, int64_t groups,
                                    const std::array<int64_t, N>& kernel, bool with_bias,
                                    const char* type) {
  Dims shape = weight_shape(in, out, groups, kernel, type);
  Tensor weight = init::kaiming_uniform(shape, std::sqrt(5.0));
  Tensor bias = with_bias ? init::default_bias(out, init::fan_in(shape)) : Tensor();
  return {weight, bias};
}

template <size_t N>
std::string conv_repr(int64_t in, int64_t out, const std::array<int64_t, N>& kernel,
                      const std::array<int64_t, N>& stride, const std::array<int64_t, N>& padding) {
  return fmt::format("{}, {}, kernel_size={}, stride={}, padding={}", in, out, size_str(kernel),
                     size_str(stride), size_str(padding));
}

}  // namespace

Conv2d::Conv2d(int64_t in, int64_t out, Size kernel_, Size stride_, Size padding_, bool with_bias,
               int64_t groups_)
    : Module("Conv2d"),
      in_channels(in),
      out_channels(out),
      groups(groups_),
      kernel(kernel_),
      stride(stride_),
      padding(padding_) {
  auto [w, b] = init_conv(in, out, groups, kernel, with_bias, "Conv2d");
  weight = register_parameter("weight", w);
  if (with_bias) bias = register_parameter("bias", b);
}

Tensor Conv2d::forward(const Tensor& x) const {
  return conv2d(x, weight, bias, stride, padding, {1, 1}, groups);
}

std::string Conv2d::extra_repr() const {
  return conv_repr(in_channels, out_channels, kernel, stride, padding);
}

Conv3d::Conv3d(int64_t in, int64_t out, Size kernel_, Size stride_, Size padding_, bool with_bias,
               int64_t groups_)
    : Module("Conv3d"),
      in_channels(in),
      out_channels(out),
      groups(groups_),
      kernel(kernel_),
      stride(stride_),
      padding(padding_) {
  auto [w, b] = init_conv(in, out, groups, kernel, with_bias, "Conv3d");
  weight = register_parameter("weight", w);
  if (with_bias) bias = register_parameter("bias", b);
}

Tensor Conv3d::forward(const Tensor& x) const {
  return conv3d(x, weight, bias, stride, padding, {1, 1, 1}, groups);
}

std::string Conv3d::extra_repr() const {
  return conv_repr(in_channels, out_channels, kernel, stride, padding);
}

}  // namespace trip::nn
