// defines: DownBlock3D, UNetMidBlock3DCrossAttn, UpBlock3D.
#include "trip/unet3d_blocks.h"

#include "autograd/functions.h"
#include "tensor/error.h"

namespace trip {

void UNet3DBlockBase::register_lists() {
  // diffusers' registration order: resnets, temp_convs, attentions, temp_attentions.
  resnets = register_module("resnets", std::make_shared<nn::ModuleList>());
  temp_convs = register_module("temp_convs", std::make_shared<nn::ModuleList>());
  if (has_cross_attention) {
    attentions = register_module("attentions", std::make_shared<nn::ModuleList>());
    temp_attentions = register_module("temp_attentions", std::make_shared<nn::ModuleList>());
  }
}

void UNet3DBlockBase::add_layer(int64_t in, int64_t out, int64_t temb_channels,
                                const UNet3DConfig& c, bool with_attention) {
  const int64_t groups = c.norm_num_groups;
  resnets->push_back(
      std::make_shared<ResnetBlock2D>(in, out, temb_channels, groups, c.norm_eps, c.dropout));
  temp_convs->push_back(std::make_shared<TemporalConvLayer>(out, out, c.temporal_dropout, groups));
  if (!with_attention) return;
  // diffusers passes (out // attention_head_dim, attention_head_dim) as (heads, head_dim).
  const int64_t heads = out / c.attention_head_dim, head_dim = c.attention_head_dim;
  attentions->push_back(
      std::make_shared<Transformer2DModel>(heads, head_dim, out, c.cross_attention_dim, groups));
  temp_attentions->push_back(std::make_shared<TransformerTemporalModel>(
      heads, head_dim, out, groups, 0.0, c.frame_position_embedding));
}

Tensor UNet3DBlockBase::layer(size_t i, const Tensor& x, const Tensor& temb_act,
                              const Tensor& context, int64_t num_frames) const {
  Tensor h = resnets->at<ResnetBlock2D>(i)->forward(x, temb_act);
  h = temp_convs->at<TemporalConvLayer>(i)->forward(h, num_frames);
  if (!has_cross_attention) return h;
  h = attentions->at<Transformer2DModel>(i)->forward(h, context);
  return temp_attentions->at<TransformerTemporalModel>(i)->forward(h, num_frames);
}

DownBlock3D::DownBlock3D(int64_t in, int64_t out, int64_t temb_channels, bool cross_attention,
                         bool add_downsample, const UNet3DConfig& c)
    : UNet3DBlockBase(cross_attention ? "CrossAttnDownBlock3D" : "DownBlock3D", cross_attention) {
  register_lists();
  for (int64_t i = 0; i < c.layers_per_block; ++i)
    add_layer(i == 0 ? in : out, out, temb_channels, c, cross_attention);
  if (add_downsample) {
    downsamplers = register_module("downsamplers", std::make_shared<nn::ModuleList>());
    downsamplers->push_back(std::make_shared<nn::Downsample2D>(out, true, out, /*padding=*/1));
  }
}

std::vector<Tensor> DownBlock3D::forward(const Tensor& x, const Tensor& temb_act,
                                         const Tensor& context, int64_t num_frames) const {
  std::vector<Tensor> out(1);
  Tensor h = x;
  for (size_t i = 0; i < num_layers(); ++i) {
    h = layer(i, h, temb_act, context, num_frames);
    out.push_back(h);
  }
  if (downsamplers) {
    h = downsamplers->at<nn::Downsample2D>(0)->forward(h);
    out.push_back(h);
  }
  out[0] = h;
  return out;
}

UNetMidBlock3DCrossAttn::UNetMidBlock3DCrossAttn(int64_t channels, int64_t temb_channels,
                                                 const UNet3DConfig& c)
    : UNet3DBlockBase("UNetMidBlock3DCrossAttn", true) {
  register_lists();
  // resnets.0 / temp_convs.0, then one layer with attentions.0 / temp_attentions.0 and
  // resnets.1 / temp_convs.1 (the attention runs before that layer's resnet, see forward).
  add_layer(channels, channels, temb_channels, c, false);
  add_layer(channels, channels, temb_channels, c, true);
}

Tensor UNetMidBlock3DCrossAttn::forward(const Tensor& x, const Tensor& temb_act,
                                        const Tensor& context, int64_t num_frames) const {
  Tensor h = resnets->at<ResnetBlock2D>(0)->forward(x, temb_act);
  h = temp_convs->at<TemporalConvLayer>(0)->forward(h, num_frames);
  for (size_t i = 1; i < resnets->size(); ++i) {
    h = attentions->at<Transformer2DModel>(i - 1)->forward(h, context);
    h = temp_attentions->at<TransformerTemporalModel>(i - 1)->forward(h, num_frames);
    h = resnets->at<ResnetBlock2D>(i)->forward(h, temb_act);
    h = temp_convs->at<TemporalConvLayer>(i)->forward(h, num_frames);
  }
  return h;
}

UpBlock3D::UpBlock3D(int64_t in, int64_t prev_out, int64_t out, int64_t temb_channels,
                     bool cross_attention, bool add_upsample, const UNet3DConfig& c)
    : UNet3DBlockBase(cross_attention ? "CrossAttnUpBlock3D" : "UpBlock3D", cross_attention) {
  register_lists();
  const int64_t n = c.layers_per_block + 1;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t skip = i == n - 1 ? in : out;
    add_layer((i == 0 ? prev_out : out) + skip, out, temb_channels, c, cross_attention);
  }
  if (add_upsample) {
    upsamplers = register_module("upsamplers", std::make_shared<nn::ModuleList>());
    upsamplers->push_back(std::make_shared<nn::Upsample2D>(out, true, out));
  }
}

Tensor UpBlock3D::forward(const Tensor& x, const std::vector<Tensor>& skips, const Tensor& temb_act,
                          const Tensor& context, int64_t num_frames) const {
  TRIP_CHECK(skips.size() == num_layers(), "{}: expected {} skip states, got {}", type_name(),
             num_layers(), skips.size());
  Tensor h = x;
  for (size_t i = 0; i < num_layers(); ++i) {
    // torch.cat([hidden_states, res_hidden_states], dim=1): the one copy a skip costs.
    h = cat({h, skips[skips.size() - 1 - i]}, 1);
    h = layer(i, h, temb_act, context, num_frames);
  }
  if (upsamplers) h = upsamplers->at<nn::Upsample2D>(0)->forward(h);
  return h;
}

}  // namespace trip
