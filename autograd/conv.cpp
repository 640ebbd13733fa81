// conv1d/2d/3d: the forward is ops::conv; the backward asks ops::conv_backward for exactly the
// gradients whose inputs require grad (grad_input is a transposed conv, grad_weight a correlation
// of input and grad_out, grad_bias a sum over batch and space).
#include "autograd/functions.h"
#include "autograd/record.h"

namespace trip {

namespace {

Tensor conv_nd(const Tensor& input, const Tensor& weight, const Tensor& bias, const ConvParams& p) {
  // ops::conv takes the rank from the input; a conv2d handed a 5-d input is a caller's mistake.
  TRIP_CHECK(input.defined() && input.dim() == p.spatial + 2,
             "conv{}d: expected a {}-d input [N, C, *spatial], got shape {}", p.spatial,
             p.spatial + 2, input.defined() ? input.shape() : Dims{});
  bool need_x = input.requires_grad(), need_w = weight.requires_grad();
  bool need_b = bias.defined() && bias.requires_grad();
  Tensor out = ops::conv(input, weight, bias, p);
  std::vector<Tensor> inputs{input, weight};
  if (bias.defined()) inputs.push_back(bias);
  return record("ConvBackward", out, inputs,
                [need_x, need_w, need_b, p, has_bias = bias.defined(), x = save(input),
                 w = save(weight)](const Tensor& g) {
                  ops::ConvGrads r =
                      ops::conv_backward(g, x.get(), w.get(), need_x, need_w, need_b, p);
                  Grads grads{r.input, r.weight};
                  if (has_bias) grads.push_back(r.bias);
                  return grads;
                });
}

template <size_t N>
ConvParams params(std::array<int64_t, N> stride, std::array<int64_t, N> padding,
                  std::array<int64_t, N> dilation, int64_t groups) {
  ConvParams p;
  p.spatial = int(N);
  for (size_t i = 0; i < N; ++i)
    p.stride[i] = stride[i], p.padding[i] = padding[i], p.dilation[i] = dilation[i];
  p.groups = groups;
  return p;
}

}  // namespace

Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride,
              int64_t padding, int64_t dilation, int64_t groups) {
  return conv_nd(input, weight, bias, params<1>({stride}, {padding}, {dilation}, groups));
}

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
              std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
              std::array<int64_t, 2> dilation, int64_t groups) {
  return conv_nd(input, weight, bias, params<2>(stride, padding, dilation, groups));
}

Tensor conv3d(const Tensor& input, const Tensor& weight, const Tensor& bias,
              std::array<int64_t, 3> stride, std::array<int64_t, 3> padding,
              std::array<int64_t, 3> dilation, int64_t groups) {
  return conv_nd(input, weight, bias, params<3>(stride, padding, dilation, groups));
}

}  // namespace trip
