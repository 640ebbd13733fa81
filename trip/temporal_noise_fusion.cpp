#include "trip/temporal_noise_fusion.h"

#include <cmath>

#include "autograd/functions.h"
#include "tensor/error.h"

namespace trip {

Tensor spatial_position_embedding(int64_t H, int64_t W, int64_t D, DType dtype, Device device) {
  TRIP_CHECK(D >= 4, "spatial_position_embedding: width must be at least 4, got {}", D);
  const TensorOptions options(dtype, device);
  const int64_t half = D / 2;
  // Row and column index embeddings, concatenated: [H, W, half] + [H, W, D - half].
  const Tensor rows = nn::timestep_embedding(arange(0, double(H), 1.0, options), half, false, 0.0,
                                             1.0, 10000.0, dtype);
  const Tensor cols = nn::timestep_embedding(arange(0, double(W), 1.0, options), D - half, false,
                                             0.0, 1.0, 10000.0, dtype);
  const Tensor grid = cat(
      {expand(unsqueeze(rows, 1), {H, W, half}), expand(unsqueeze(cols, 0), {H, W, D - half})}, 2);
  return reshape(grid, {H * W, D});
}

TemporalNoiseFusion::TemporalNoiseFusion(const TnfConfig& c)
    : nn::Module("TemporalNoiseFusion"), config(c) {
  TRIP_CHECK(c.channels >= 1 && c.width >= 1 && c.heads >= 1 && c.width % c.heads == 0,
             "TemporalNoiseFusion: width {} must be a positive multiple of heads {} (channels {})",
             c.width, c.heads, c.channels);
  const int64_t D = c.width;
  proj_in = register_module("proj_in", std::make_shared<nn::Linear>(c.channels, D));
  // Small random rows (as ViT position embeddings), so both sources start nearly symmetric.
  source_embedding = register_parameter("source_embedding", randn({2, D}) * 0.02);
  time_proj = register_module("time_proj", std::make_shared<nn::Timesteps>(D, true, 0.0));
  time_embedding = register_module("time_embedding", std::make_shared<nn::TimestepEmbedding>(D, D));
  frame_proj = register_module("frame_proj", std::make_shared<nn::Timesteps>(D, true, 0.0));
  frame_embedding =
      register_module("frame_embedding", std::make_shared<nn::TimestepEmbedding>(D, D));
  norm1 = register_module("norm1", std::make_shared<nn::AdaLayerNorm>(D, D, c.eps));
  attn1 = register_module("attn1", std::make_shared<nn::Attention>(D, 0, c.heads, D / c.heads));
  norm2 = register_module("norm2", std::make_shared<nn::AdaLayerNorm>(D, D, c.eps));
  attn2 = register_module("attn2", std::make_shared<nn::Attention>(D, 0, c.heads, D / c.heads));
  gate = register_module("gate", std::make_shared<nn::Linear>(c.heads, c.channels));
  proj_out = register_module("proj_out", std::make_shared<nn::Linear>(D, c.channels));
  // The correction starts at zero, so an untrained TNF is exactly a per-position mix of the two
  // noises (see forward) and learns what to add from there.
  ops::fill_(proj_out->weight, 0.0);
  ops::fill_(proj_out->bias, 0.0);
}

// Cross-attention of each query to the two keys at its own position, the prior's (kp) and the
// residual's (kr): a softmax over two logits is the sigmoid of their difference, so the output is
// vr + sigmoid(q.(kp - kr) * scale) (vp - vr) per head; the logit differences are returned too.
// Keys come from layer-normalised tokens (values stay raw): at small t the prior of moving pixels
// is up to ~100x the frame change, and raw keys would turn that into saturated logits of either
// sign, letting it through at weight 1 (normalised keys: the tiny TRIP overfitting one clip reaches
// 0.015 of its start loss instead of 0.022, and 0.12 instead of 0.20 at t = 20). to_k and to_v have
// no bias, hence kp - kr = to_k(LN(p) - LN(r)) and vp - vr = to_v(p - r): one projection each
// instead of two.
TemporalNoiseFusion::BothNoises TemporalNoiseFusion::attend_to_both_noises(const Tensor& h,
                                                                           const Tensor& p,
                                                                           const Tensor& r) const {
  const nn::Attention& a = *attn2;
  const Dims heads = {h.size(0), h.size(1), a.heads, a.dim_head};  // [B*F, HW, heads, dh]
  const Tensor q = reshape(a.to_q->forward(h), heads);
  // Without affine parameters: a bias would cancel in the difference, a scale is to_k's job.
  auto normalised = [&](const Tensor& x) { return layer_norm(x, Tensor(), Tensor(), config.eps); };
  const Tensor key_diff = a.to_k->forward(normalised(p) - normalised(r));
  const Tensor logits = sum(q * reshape(key_diff, heads), {3}, true) *
                        (1.0 / std::sqrt(double(a.dim_head)));  // [B*F, HW, heads, 1]
  const Tensor weight_of_prior = sigmoid(logits);
  const Tensor values =
      reshape(a.to_v->forward(r), heads) + weight_of_prior * reshape(a.to_v->forward(p - r), heads);
  return {reshape(logits, {h.size(0), h.size(1), a.heads}),
          a.to_out->at<nn::Linear>(0)->forward(reshape(values, h.shape()))};
}

Tensor TemporalNoiseFusion::forward(const Tensor& residual, const Tensor& prior,
                                    const Tensor& timestep) const {
  TRIP_CHECK(residual.dim() == 5 && residual.size(1) == config.channels,
             "TemporalNoiseFusion: residual must be [B, {}, F, H, W], got {}", config.channels,
             residual.shape());
  TRIP_CHECK(prior.shape() == residual.shape(),
             "TemporalNoiseFusion: prior {} must have the residual's shape {}", prior.shape(),
             residual.shape());
  const int64_t B = residual.size(0), C = config.channels, F = residual.size(2);
  const int64_t H = residual.size(3), W = residual.size(4), D = config.width;
  TRIP_CHECK(timestep.shape() == Dims({B}),
             "TemporalNoiseFusion: timestep must be [B] = [{}], got {}", B, timestep.shape());
  const DType dtype = residual.dtype();

  // [B, C, F, H, W] -> [B*F, H*W, C]: one token sequence per frame (one channels-last copy).
  auto frame_tokens = [&](const Tensor& x) {
    return reshape(permute(x, {0, 2, 3, 4, 1}), {B * F, H * W, C});
  };
  const Tensor residual_tokens = frame_tokens(residual), prior_tokens = frame_tokens(prior);
  const Tensor position = spatial_position_embedding(H, W, D, dtype, residual.device());
  const Tensor r = proj_in->forward(residual_tokens) + position;  // [B*F, HW, D]
  const Tensor p = proj_in->forward(prior_tokens) + position;

  // Conditioning per (clip, frame): timestep embedding [B, D] + frame-index embedding [F, D].
  const Tensor frame_index = arange(0, double(F), 1.0, TensorOptions(dtype, residual.device()));
  const Tensor t_emb =
      time_embedding->forward(time_proj->forward(trip::to(timestep, dtype), dtype));
  const Tensor f_emb = frame_embedding->forward(frame_proj->forward(frame_index, dtype));
  const Tensor emb = reshape(unsqueeze(t_emb, 1) + unsqueeze(f_emb, 0), {B * F, D});

  Tensor h = norm1->forward(r, emb);
  h = h + attn1->forward(h);
  h = norm2->forward(h, emb);
  const Tensor sources = trip::to(source_embedding, dtype);
  const BothNoises both =
      attend_to_both_noises(h, p + select(sources, 0, 0), r + select(sources, 0, 1));
  // The fusion proper happens on the noises themselves: per position and channel a weight in
  // [0, 1] of the prior against the residual, from the heads' attention logits. Handing a noise
  // through needs no learned identity map C -> D -> C (whose errors showed as colour speckle in
  // the samples); Proj(out) of the attention adds a learned correction on top.
  const Tensor weight_of_prior = sigmoid(gate->forward(both.logits));  // [B*F, HW, C]
  const Tensor out = residual_tokens + weight_of_prior * (prior_tokens - residual_tokens) +
                     proj_out->forward(both.out);
  return contiguous(permute(reshape(out, {B, F, H, W, C}), {0, 4, 1, 2, 3}));
}

std::string TemporalNoiseFusion::extra_repr() const {
  return fmt::format("channels={}, width={}, heads={}", config.channels, config.width,
                     config.heads);
}

}  // namespace trip
