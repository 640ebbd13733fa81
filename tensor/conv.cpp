// The convolution op API: checks the operands (ranks, channels vs groups, kernel vs padded input,
// dtypes, devices) with messages that name the shapes, computes the output shape, allocates and
// hands contiguous operands to backend(device). Kernels trust what arrives here.
#include <string>

#include "tensor/backend.h"
#include "tensor/ops.h"

namespace trip::ops {

namespace {

std::string describe(const ConvParams& p) {
  std::string s = "stride (";
  auto list = [&](const int64_t* v) {
    for (int i = 0; i < p.spatial; ++i) s += fmt::format("{}{}", i ? ", " : "", v[i]);
  };
  list(p.stride);
  s += "), padding (";
  list(p.padding);
  s += "), dilation (";
  list(p.dilation);
  s += fmt::format("), groups {}", p.groups);
  return s;
}

// Validates everything but grad_out and returns the output shape [N, C_out, *out_spatial].
Dims check_conv(const char* op, const Tensor& input, const Tensor& weight, const Tensor& bias,
                ConvParams& p) {
  TRIP_CHECK(input.defined() && weight.defined(), "{}: input and weight must be defined", op);
  int n = input.dim();
  TRIP_CHECK(n >= 3 && n <= 5,
             "{}: input must be [N, C, *spatial] with 1 to 3 spatial dims, got shape {}", op,
             input.shape());
  p.spatial = n - 2;
  TRIP_CHECK(weight.dim() == n,
             "{}: weight must be [C_out, C_in / groups, *kernel] with {} dims like the input {}, "
             "got shape {}",
             op, n, input.shape(), weight.shape());
  TRIP_CHECK(is_floating(input.dtype()), "{}: expected a floating dtype, got {}", op,
             input.dtype());
  TRIP_CHECK(weight.dtype() == input.dtype(), "{}: dtype mismatch: input {} but weight {}", op,
             input.dtype(), weight.dtype());
  TRIP_CHECK(weight.device() == input.device(), "{}: device mismatch: input on {} but weight on {}",
             op, input.device(), weight.device());
  int64_t c_in = input.size(1), c_out = weight.size(0), g = p.groups;
  TRIP_CHECK(g >= 1, "{}: groups must be >= 1, got {}", op, g);
  TRIP_CHECK(c_in % g == 0 && c_out % g == 0,
             "{}: channels must divide into groups: input {} has {} channels, weight {} has {} "
             "output channels, groups {}",
             op, input.shape(), c_in, weight.shape(), c_out, g);
  TRIP_CHECK(weight.size(1) * g == c_in,
             "{}: weight {} expects {} input channels ({} per group x {} groups) but input {} "
             "has {}",
             op, weight.shape(), weight.size(1) * g, weight.size(1), g, input.shape(), c_in);
  if (bias.defined()) {
    TRIP_CHECK(bias.dim() == 1 && bias.size(0) == c_out,
               "{}: bias must be [{}] (the weight's output channels), got shape {}", op, c_out,
               bias.shape());
    TRIP_CHECK(bias.dtype() == input.dtype(), "{}: dtype mismatch: input {} but bias {}", op,
               input.dtype(), bias.dtype());
    TRIP_CHECK(bias.device() == input.device(), "{}: device mismatch: input on {} but bias on {}",
               op, input.device(), bias.device());
  }
  Dims out{input.size(0), c_out};
  for (int i = 0; i < p.spatial; ++i) {
    TRIP_CHECK(p.stride[i] >= 1 && p.dilation[i] >= 1 && p.padding[i] >= 0,
               "{}: need stride >= 1, dilation >= 1 and padding >= 0, got {}", op, describe(p));
    int64_t padded = input.size(2 + i) + 2 * p.padding[i];
    int64_t extent = p.dilation[i] * (weight.size(2 + i) - 1) + 1;
    TRIP_CHECK(weight.size(2 + i) >= 1, "{}: weight {} has an empty kernel dim", op,
               weight.shape());
    TRIP_CHECK(extent <= padded,
               "{}: kernel larger than the padded input in spatial dim {}: weight {} spans {} "
               "(with dilation) but input {} padded is {} ({})",
               op, i, weight.shape(), extent, input.shape(), padded, describe(p));
    out.push_back((padded - extent) / p.stride[i] + 1);
  }
  return out;
}

}  // namespace

Tensor conv(const Tensor& input, const Tensor& weight, const Tensor& bias, ConvParams p) {
  Dims out_shape = check_conv("conv", input, weight, bias, p);
  Tensor out = empty(out_shape, input.options());
  if (out.numel() == 0) return out;
  if (input.size(1) == 0) {  // no input channels: the output is the bias alone
    backend(input.device()).fill(out, 0.0);
    if (bias.defined()) {
      Dims b_shape = Dims::filled(out_shape.size(), 1);
      b_shape[1] = out_shape[1];
      add_(out, view(bias, b_shape));
    }
    return out;
  }
  backend(input.device())
      .conv_forward(contiguous(input), contiguous(weight),
                    bias.defined() ? contiguous(bias) : Tensor(), out, p);
  return out;
}

ConvGrads conv_backward(const Tensor& grad_out, const Tensor& input, const Tensor& weight,
                        bool need_input, bool need_weight, bool need_bias, ConvParams p) {
  Tensor no_bias;
  Dims out_shape = check_conv("conv_backward", input, weight, no_bias, p);
  TRIP_CHECK(grad_out.defined() && grad_out.shape() == out_shape,
             "conv_backward: grad_out must have the output shape {}, got {}", out_shape,
             grad_out.defined() ? grad_out.shape() : Dims{});
  TRIP_CHECK(grad_out.device() == input.device(),
             "conv_backward: device mismatch: input on {} but grad_out on {}", input.device(),
             grad_out.device());
  ConvGrads g;
  if (need_input) g.input = empty(input.shape(), input.options());
  if (need_weight) g.weight = empty(weight.shape(), weight.options());
  if (need_bias) g.bias = empty({weight.size(0)}, input.options());
  if (!need_input && !need_weight && !need_bias) return g;
  // Empty problems: every gradient is a sum over nothing.
  if (grad_out.numel() == 0 || input.numel() == 0) {
    for (Tensor* t : {&g.input, &g.weight, &g.bias})
      if (t->defined() && t->numel() > 0) backend(input.device()).fill(*t, 0.0);
    return g;
  }
  backend(input.device())
      .conv_backward(contiguous(to(grad_out, input.dtype())), contiguous(input), contiguous(weight),
                     g.input, g.weight, g.bias, p);
  return g;
}

}  // namespace trip::ops
