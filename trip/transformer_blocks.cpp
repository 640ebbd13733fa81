// defines: BasicTransformerBlock, Transformer2DModel and TransformerTemporalModel.
#include "trip/transformer_blocks.h"

#include <fmt/format.h>

#include "autograd/functions.h"
#include "nn/timestep.h"
#include "tensor/error.h"

namespace trip {

BasicTransformerBlock::BasicTransformerBlock(int64_t dim, int64_t heads, int64_t head_dim,
                                             int64_t cross_attention_dim, double dropout,
                                             double norm_eps)
    : Module("BasicTransformerBlock") {
  norm1 = register_module("norm1", std::make_shared<nn::LayerNorm>(dim, norm_eps));
  attn1 =
      register_module("attn1", std::make_shared<nn::Attention>(dim, 0, heads, head_dim, dropout));
  norm2 = register_module("norm2", std::make_shared<nn::LayerNorm>(dim, norm_eps));
  attn2 = register_module(
      "attn2", std::make_shared<nn::Attention>(dim, cross_attention_dim, heads, head_dim, dropout));
  norm3 = register_module("norm3", std::make_shared<nn::LayerNorm>(dim, norm_eps));
  ff = register_module("ff", std::make_shared<nn::FeedForward>(dim, dim, 4, dropout));
}

Tensor BasicTransformerBlock::forward(const Tensor& x, const Tensor& context) const {
  Tensor h = attn1->forward(norm1->forward(x)) + x;
  h = attn2->forward(norm2->forward(h), context) + h;
  return ff->forward(norm3->forward(h)) + h;
}

Transformer2DModel::Transformer2DModel(int64_t heads, int64_t head_dim, int64_t in,
                                       int64_t cross_attention_dim, int64_t groups, double dropout)
    : Module("Transformer2DModel"), in_channels(in), inner_dim(heads * head_dim) {
  norm = register_module("norm", std::make_shared<nn::GroupNorm>(groups, in, 1e-6));
  proj_in = register_module("proj_in", std::make_shared<nn::Linear>(in, inner_dim));
  transformer_blocks = register_module("transformer_blocks", std::make_shared<nn::ModuleList>());
  transformer_blocks->push_back(std::make_shared<BasicTransformerBlock>(
      inner_dim, heads, head_dim, cross_attention_dim, dropout));
  proj_out = register_module("proj_out", std::make_shared<nn::Linear>(inner_dim, in));
}

Tensor Transformer2DModel::forward(const Tensor& x, const Tensor& context) const {
  TRIP_CHECK(x.dim() == 4 && x.size(1) == in_channels,
             "Transformer2DModel: expected x [N, {}, H, W], got {}", in_channels, x.shape());
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  // [N, C, H, W] -> tokens [N, H*W, C]: one copy (the Linear needs the channels innermost).
  Tensor t = reshape(permute(norm->forward(x), {0, 2, 3, 1}), {n, h * w, in_channels});
  t = proj_in->forward(t);
  for (size_t i = 0; i < transformer_blocks->size(); ++i)
    t = transformer_blocks->at<BasicTransformerBlock>(i)->forward(t, context);
  t = proj_out->forward(t);
  // Back to channels-first inside the residual add, which writes a new [N, C, H, W] tensor.
  return x + permute(view(t, {n, h, w, in_channels}), {0, 3, 1, 2});
}

std::string Transformer2DModel::extra_repr() const {
  return fmt::format("{} -> {}", in_channels, inner_dim);
}

TransformerTemporalModel::TransformerTemporalModel(int64_t heads, int64_t head_dim, int64_t in,
                                                   int64_t groups, double dropout,
                                                   bool frame_positions)
    : Module("TransformerTemporalModel"),
      in_channels(in),
      inner_dim(heads * head_dim),
      frame_positions(frame_positions) {
  norm = register_module("norm", std::make_shared<nn::GroupNorm>(groups, in, 1e-6));
  proj_in = register_module("proj_in", std::make_shared<nn::Linear>(in, inner_dim));
  transformer_blocks = register_module("transformer_blocks", std::make_shared<nn::ModuleList>());
  transformer_blocks->push_back(
      std::make_shared<BasicTransformerBlock>(inner_dim, heads, head_dim, 0, dropout));
  proj_out = register_module("proj_out", std::make_shared<nn::Linear>(inner_dim, in));
}

Tensor TransformerTemporalModel::forward(const Tensor& x, int64_t num_frames) const {
  TRIP_CHECK(
      x.dim() == 4 && x.size(1) == in_channels && num_frames > 0 && x.size(0) % num_frames == 0,
      "TransformerTemporalModel: expected x [B * {} frames, {}, H, W], got {}", num_frames,
      in_channels, x.shape());
  const int64_t f = num_frames, b = x.size(0) / f, c = in_channels, h = x.size(2), w = x.size(3);
  Tensor x5 = view(x, {b, f, c, h, w});
  // Two copies: GroupNorm's groups span frames, so it runs on [B, C, F, H, W]; the tokens
  // [B*H*W, F, C] (a sequence of frames per pixel) need the channels innermost.
  Tensor t = norm->forward(contiguous(permute(x5, {0, 2, 1, 3, 4})));
  t = reshape(permute(t, {0, 3, 4, 2, 1}), {b * h * w, f, c});
  t = proj_in->forward(t);
  if (frame_positions) {  // [F, inner] broadcast over the B*H*W sequences
    const Tensor index = arange(0, double(f), 1.0, TensorOptions(t.dtype(), t.device()));
    t = t + nn::timestep_embedding(index, inner_dim, true, 0.0, 1.0, 10000.0, t.dtype());
  }
  for (size_t i = 0; i < transformer_blocks->size(); ++i)
    t = transformer_blocks->at<BasicTransformerBlock>(i)->forward(t);
  t = proj_out->forward(t);
  // [B, H, W, F, C] -> [B, F, C, H, W] inside the residual add (writes the folded layout).
  return view(x5 + permute(view(t, {b, h, w, f, c}), {0, 3, 4, 1, 2}), x.shape());
}

std::string TransformerTemporalModel::extra_repr() const {
  return fmt::format("{} -> {}{}", in_channels, inner_dim,
                     frame_positions ? ", frame positions" : "");
}

}  // namespace trip
