// defines: UNet3D (construction and the forward pass of diffusers' UNet3DConditionModel).
#include "trip/unet3d.h"

#include <fmt/format.h>

#include "autograd/checkpoint.h"
#include "autograd/functions.h"
#include "tensor/error.h"

namespace trip {

UNet3D::UNet3D(const UNet3DConfig& c) : Module("UNet3D"), config_(c) {
  c.validate();
  const auto& ch = c.block_out_channels;
  const size_t n = ch.size();
  const int64_t temb = ch[0] * 4;
  conv_in = register_module("conv_in", std::make_shared<nn::Conv2d>(c.in_channels, ch[0], 3, 1, 1));
  time_proj = register_module("time_proj", std::make_shared<nn::Timesteps>(ch[0], true, 0.0));
  time_embedding =
      register_module("time_embedding", std::make_shared<nn::TimestepEmbedding>(ch[0], temb));
  // diffusers hard-codes 8 heads of attention_head_dim channels here.
  transformer_in = register_module(
      "transformer_in",
      std::make_shared<TransformerTemporalModel>(8, c.attention_head_dim, ch[0], c.norm_num_groups,
                                                 0.0, c.frame_position_embedding));

  down_blocks = register_module("down_blocks", std::make_shared<nn::ModuleList>());
  for (size_t i = 0; i < n; ++i) {
    down_blocks->push_back(std::make_shared<DownBlock3D>(
        i == 0 ? ch[0] : ch[i - 1], ch[i], temb, c.is_cross_attention_down(i), i + 1 < n, c));
  }
  up_blocks = register_module("up_blocks", std::make_shared<nn::ModuleList>());
  for (size_t i = 0; i < n; ++i) {
    const int64_t prev_out = ch[n - 1 - (i == 0 ? 0 : i - 1)];
    const int64_t out = ch[n - 1 - i];
    const int64_t in = ch[n - 1 - std::min(i + 1, n - 1)];
    const bool add_upsample = i + 1 < n;
    num_upsamplers_ += add_upsample;
    up_blocks->push_back(std::make_shared<UpBlock3D>(in, prev_out, out, temb,
                                                     c.is_cross_attention_up(i), add_upsample, c));
  }
  mid_block =
      register_module("mid_block", std::make_shared<UNetMidBlock3DCrossAttn>(ch[n - 1], temb, c));
  conv_norm_out = register_module(
      "conv_norm_out", std::make_shared<nn::GroupNorm>(c.norm_num_groups, ch[0], c.norm_eps));
  conv_out =
      register_module("conv_out", std::make_shared<nn::Conv2d>(ch[0], c.out_channels, 3, 1, 1));
}

namespace {

// Runs fn on inputs, through trip::checkpoint when `on` and a graph is being recorded. fn is
// kept for the recomputation in backward, so it captures by value.
std::vector<Tensor> maybe_checkpoint(bool on, const CheckpointFn& fn,
                                     const std::vector<Tensor>& inputs) {
  return on && is_grad_enabled() ? checkpoint(fn, inputs) : fn(inputs);
}

}  // namespace

Tensor UNet3D::forward(const Tensor& sample, const Tensor& timestep, const Tensor& context) const {
  const UNet3DConfig& c = config_;
  TRIP_CHECK(sample.dim() == 5 && sample.size(1) == c.in_channels,
             "UNet3D: expected sample [B, {}, F, H, W], got {}", c.in_channels, sample.shape());
  const int64_t b = sample.size(0), f = sample.size(2), h = sample.size(3), w = sample.size(4);
  const int64_t factor = int64_t(1) << num_upsamplers_;
  TRIP_CHECK(b > 0 && f > 0 && h > 0 && w > 0 && h % factor == 0 && w % factor == 0,
             "UNet3D: sample [B, C, F, H, W] = {} needs B, F > 0 and H, W multiples of {} (not "
             "implemented: diffusers' forwarded upsample sizes)",
             sample.shape(), factor);
  TRIP_CHECK(timestep.dim() <= 1 && (timestep.numel() == 1 || timestep.numel() == b),
             "UNet3D: expected timestep [{}], [1] or [], got {}", b, timestep.shape());
  TRIP_CHECK(context.dim() == 3 && context.size(0) == b && context.size(1) > 0 &&
                 context.size(2) == c.cross_attention_dim,
             "UNet3D: expected context [{}, L, {}], got {}", b, c.cross_attention_dim,
             context.shape());
  const DType dtype = conv_in->weight.dtype();

  // Time embedding per clip (sinusoids in f32 as diffusers, then the model's dtype), repeated
  // per frame (repeat_interleave): [B, T] -> [B * F, T]. SiLU is applied once here for all the
  // ResNet blocks, which each apply it to the same tensor in diffusers.
  Tensor t = expand(reshape(timestep, {timestep.numel()}), {b});
  Tensor emb = time_embedding->forward(trip::to(time_proj->forward(t, DType::f32), dtype));
  const int64_t temb_dim = emb.size(1);
  Tensor temb_act = reshape(expand(unsqueeze(silu(emb), 1), {b, f, temb_dim}), {b * f, temb_dim});
  // The caption per frame: [B, L, D] -> [B * F, L, D] (a copy; the spatial attention's batch).
  const int64_t len = context.size(1), d = context.size(2);
  Tensor ctx = reshape(expand(unsqueeze(context, 1), {b, f, len, d}), {b * f, len, d});

  // Fold frames into the batch: [B, C, F, H, W] -> [B * F, C, H, W] (one copy).
  Tensor x = reshape(permute(sample, {0, 2, 1, 3, 4}), {b * f, c.in_channels, h, w});
  x = conv_in->forward(x);
  x = transformer_in->forward(x, f);

  std::vector<Tensor> skips{x};
  for (size_t i = 0; i < down_blocks->size(); ++i) {
    auto block = down_blocks->at<DownBlock3D>(i);
    std::vector<Tensor> out = maybe_checkpoint(c.gradient_checkpointing,
                                               [block, f](const std::vector<Tensor>& in) {
                                                 return block->forward(in[0], in[1], in[2], f);
                                               },
                                               {x, temb_act, ctx});
    x = out[0];
    skips.insert(skips.end(), out.begin() + 1, out.end());
  }
  x = maybe_checkpoint(c.gradient_checkpointing,
                       [mid = mid_block, f](const std::vector<Tensor>& in) {
                         return std::vector<Tensor>{mid->forward(in[0], in[1], in[2], f)};
                       },
                       {x, temb_act, ctx})[0];
  for (size_t i = 0; i < up_blocks->size(); ++i) {
    auto block = up_blocks->at<UpBlock3D>(i);
    const size_t k = block->num_layers();
    std::vector<Tensor> inputs{x, temb_act, ctx};
    inputs.insert(inputs.end(), skips.end() - k, skips.end());
    skips.resize(skips.size() - k);
    x = maybe_checkpoint(
        c.gradient_checkpointing,
        [block, f](const std::vector<Tensor>& in) {
          std::vector<Tensor> res(in.begin() + 3, in.end());
          return std::vector<Tensor>{block->forward(in[0], res, in[1], in[2], f)};
        },
        inputs)[0];
  }
  x = conv_out->forward(conv_norm_out->forward(x, /*silu=*/true));
  // Unfold: [B * F, C, H, W] -> [B, F, C, H, W] (a view) -> [B, C, F, H, W] (permuted view).
  return permute(view(x, {b, f, c.out_channels, h, w}), {0, 2, 1, 3, 4});
}

std::string UNet3D::extra_repr() const { return config_.to_string(); }

}  // namespace trip
