// defines: ResnetBlock2D and TemporalConvLayer.
#include "trip/resnet_block.h"

#include <fmt/format.h>

#include "autograd/functions.h"
#include "nn/activation.h"
#include "nn/init.h"
#include "tensor/error.h"

namespace trip {

ResnetBlock2D::ResnetBlock2D(int64_t in, int64_t out, int64_t temb_channels, int64_t groups,
                             double eps, double p)
    : Module("ResnetBlock2D"), in_channels(in), out_channels(out) {
  norm1 = register_module("norm1", std::make_shared<nn::GroupNorm>(groups, in, eps));
  conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(in, out, 3, 1, 1));
  time_emb_proj =
      register_module("time_emb_proj", std::make_shared<nn::Linear>(temb_channels, out));
  norm2 = register_module("norm2", std::make_shared<nn::GroupNorm>(groups, out, eps));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(p));
  conv2 = register_module("conv2", std::make_shared<nn::Conv2d>(out, out, 3, 1, 1));
  if (in != out)
    conv_shortcut = register_module("conv_shortcut", std::make_shared<nn::Conv2d>(in, out, 1));
}

Tensor ResnetBlock2D::forward(const Tensor& x, const Tensor& temb_act) const {
  TRIP_CHECK(x.dim() == 4 && x.size(1) == in_channels,
             "ResnetBlock2D: expected x [N, {}, H, W], got {}", in_channels, x.shape());
  TRIP_CHECK(temb_act.dim() == 2 && temb_act.size(0) == x.size(0),
             "ResnetBlock2D: expected temb [{}, {}], got {}", x.size(0), time_emb_proj->in_features,
             temb_act.shape());
  Tensor h = conv1->forward(norm1->forward(x, /*silu=*/true));
  // [N, C] -> [N, C, 1, 1]: one shift per channel and frame, broadcast over the pixels.
  h = h + view(time_emb_proj->forward(temb_act), {x.size(0), out_channels, 1, 1});
  h = conv2->forward(dropout->forward(norm2->forward(h, /*silu=*/true)));
  // output_scale_factor is 1 in every UNet3D block, so no division.
  return (conv_shortcut ? conv_shortcut->forward(x) : x) + h;
}

std::string ResnetBlock2D::extra_repr() const {
  return fmt::format("{} -> {}", in_channels, out_channels);
}

TemporalConvLayer::TemporalConvLayer(int64_t in, int64_t out, double p, int64_t groups)
    : Module("TemporalConvLayer"), in_dim(in), out_dim(out) {
  const nn::Conv3d::Size kernel{3, 1, 1}, stride{1, 1, 1}, padding{1, 0, 0};
  auto make = [&](const char* name, int64_t cin, int64_t cout, bool with_dropout) {
    auto seq = register_module(name, std::make_shared<nn::ModuleList>());
    seq->push_back(std::make_shared<nn::GroupNorm>(groups, cin));  // torch default eps 1e-5
    seq->push_back(std::make_shared<nn::SiLU>());
    if (with_dropout) seq->push_back(std::make_shared<nn::Dropout>(p));
    seq->push_back(std::make_shared<nn::Conv3d>(cin, cout, kernel, stride, padding));
    return seq;
  };
  conv1 = make("conv1", in, out, false);
  conv2 = make("conv2", out, in, true);
  conv3 = make("conv3", out, in, true);
  conv4 = make("conv4", out, in, true);
  // diffusers: "zero out the last layer params, so the conv block is identity".
  nn::zero_(*(*conv4)[3]);
}

Tensor TemporalConvLayer::stage(const nn::ModuleList& seq, const Tensor& h) const {
  Tensor y = seq.at<nn::GroupNorm>(0)->forward(h, /*silu=*/true);
  if (seq.size() == 4) y = seq.at<nn::Dropout>(2)->forward(y);
  return seq.at<nn::Conv3d>(seq.size() - 1)->forward(y);
}

Tensor TemporalConvLayer::forward(const Tensor& x, int64_t num_frames) const {
  TRIP_CHECK(x.dim() == 4 && x.size(1) == in_dim && num_frames > 0 && x.size(0) % num_frames == 0,
             "TemporalConvLayer: expected x [B * {} frames, {}, H, W], got {}", num_frames, in_dim,
             x.shape());
  const int64_t b = x.size(0) / num_frames;
  Tensor x5 = view(x, {b, num_frames, in_dim, x.size(2), x.size(3)});
  // The one copy: GroupNorm and the 3x1x1 convs run on [B, C, F, H, W] (channels before frames).
  Tensor h = contiguous(permute(x5, {0, 2, 1, 3, 4}));
  h = stage(*conv4, stage(*conv3, stage(*conv2, stage(*conv1, h))));
  // The residual add writes straight into the folded layout [B, F, C, H, W] (no copy back).
  return view(x5 + permute(h, {0, 2, 1, 3, 4}), x.shape());
}

std::string TemporalConvLayer::extra_repr() const {
  return fmt::format("{} -> {}, kernel 3x1x1", in_dim, out_dim);
}

}  // namespace trip
