// defines: CaptionEncoder, the tiny preset's jointly trained caption encoder (TRIP.md section 3):
// token + learned position embeddings, pre-norm transformer encoder layers whose self-attention
// masks padded keys, and a final LayerNorm. Its output [B, L, D] is the context c of the UNet's
// cross-attention (D = the UNet's cross_attention_dim). The modelscope preset uses OpenCLIP
// features instead.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "nn/attention.h"
#include "nn/embedding.h"
#include "nn/feed_forward.h"
#include "nn/module.h"
#include "nn/norm.h"

namespace trip {

struct CaptionEncoderConfig {
  int64_t vocab_size = 0;   // WordTokenizer::vocab_size(), special tokens included
  int64_t max_length = 16;  // positions of the learned position embedding, start token included
  int64_t width = 64;       // D: the tiny UNet's cross_attention_dim
  int64_t layers = 2;
  int64_t heads = 4;  // width must divide by heads
};

// Multi-head self-attention through `attn`'s projections (to_q, to_k, to_v, to_out.0) with an
// additive bias on the scores: key_bias [B, 1, 1, L] is 0 at real keys and a large negative
// number at padded ones, so padded keys get exactly zero weight. The fused kernel takes no mask
// (autograd/functions.h), so this is the matmul + softmax path of nn::attention_reference.
Tensor masked_self_attention(const nn::Attention& attn, const Tensor& x, const Tensor& key_bias);

// One pre-norm encoder layer: x += attn(norm1(x)); x += ff(norm2(x)) (GEGLU feed-forward).
class CaptionEncoderLayer : public nn::Module {
 public:
  CaptionEncoderLayer(int64_t width, int64_t heads);
  Tensor forward(const Tensor& x, const Tensor& key_bias) const;

  std::shared_ptr<nn::LayerNorm> norm1, norm2;
  std::shared_ptr<nn::Attention> attn;
  std::shared_ptr<nn::FeedForward> ff;
};

// Parameter names: token_embedding.weight, position_embedding.weight,
// layers.{i}.norm1.{weight,bias}, layers.{i}.attn.{to_q,to_k,to_v}.weight,
// layers.{i}.attn.to_out.0.{weight,bias}, layers.{i}.norm2.{weight,bias},
// layers.{i}.ff.net.0.proj.{weight,bias}, layers.{i}.ff.net.2.{weight,bias},
// final_norm.{weight,bias}.
class CaptionEncoder : public nn::Module {
 public:
  explicit CaptionEncoder(const CaptionEncoderConfig& config);

  // ids [B, L] (i32/i64, values in [0, vocab_size), 1 <= L <= max_length) -> context [B, L, D]
  // in the parameters' dtype and the ids' device. Positions where ids == WordTokenizer::kPad are
  // padding: no real position attends to them, so a caption's outputs do not depend on how much
  // padding follows it. Padded positions still get outputs (they attend to the real tokens; never
  // NaN); the UNet's cross-attention sees them unmasked, as Stable Diffusion's UNet sees CLIP's
  // padded positions, which is consistent because padding is deterministic.
  Tensor forward(const Tensor& ids) const;
  // The same with an explicit padding mask (bool [B, L], true = padding) instead of ids == kPad.
  Tensor forward(const Tensor& ids, const Tensor& padding_mask) const;
  std::string extra_repr() const override;

  CaptionEncoderConfig config;
  std::shared_ptr<nn::Embedding> token_embedding;     // [vocab_size, D]
  std::shared_ptr<nn::Embedding> position_embedding;  // [max_length, D]
  std::shared_ptr<nn::ModuleList> layers;             // CaptionEncoderLayer
  std::shared_ptr<nn::LayerNorm> final_norm;
};

}  // namespace trip
