#include "trip/caption_encoder.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/functions.h"
#include "tensor/error.h"
#include "trip/tokenizer.h"

namespace trip {

namespace {

// Added to the scores of padded keys. Finite, so a row whose keys are all padding (only possible
// with a hand-made mask; tokenizer output always starts with a real start token) is uniform
// rather than NaN; large enough that exp(score + bias - max) is exactly 0 next to a real key.
double padded_key_bias(DType dtype) { return dtype == DType::f16 ? -6.0e4 : -1.0e30; }

}  // namespace

Tensor masked_self_attention(const nn::Attention& attn, const Tensor& x, const Tensor& key_bias) {
  TRIP_CHECK(x.dim() == 3, "masked_self_attention: expected x [B, L, C], got {}", x.shape());
  const int64_t b = x.size(0), len = x.size(1), h = attn.heads, dh = attn.dim_head;
  TRIP_CHECK(key_bias.shape() == (Dims{b, 1, 1, len}),
             "masked_self_attention: key_bias must be [{}, 1, 1, {}] for x {}, got {}", b, len,
             x.shape(), key_bias.shape());
  // [B, L, H * Dh] -> [B, H, L, Dh], as nn::Attention does.
  auto split_heads = [&](const Tensor& t) {
    return permute(reshape(t, {b, len, h, dh}), {0, 2, 1, 3});
  };
  Tensor q = split_heads(attn.to_q->forward(x));
  Tensor k = split_heads(attn.to_k->forward(x));
  Tensor v = split_heads(attn.to_v->forward(x));
  Tensor scores = matmul(q, transpose(k, -1, -2)) * (1.0 / std::sqrt(double(dh))) + key_bias;
  Tensor o = matmul(softmax(scores, -1), v);  // [B, H, L, Dh]
  o = reshape(permute(o, {0, 2, 1, 3}), {b, len, h * dh});
  o = attn.to_out->at<nn::Linear>(0)->forward(o);
  return attn.to_out->at<nn::Dropout>(1)->forward(o);
}

CaptionEncoderLayer::CaptionEncoderLayer(int64_t width, int64_t heads)
    : Module("CaptionEncoderLayer") {
  norm1 = register_module("norm1", std::make_shared<nn::LayerNorm>(width));
  attn = register_module("attn", std::make_shared<nn::Attention>(width, 0, heads, width / heads));
  norm2 = register_module("norm2", std::make_shared<nn::LayerNorm>(width));
  ff = register_module("ff", std::make_shared<nn::FeedForward>(width));
}

Tensor CaptionEncoderLayer::forward(const Tensor& x, const Tensor& key_bias) const {
  Tensor h = x + masked_self_attention(*attn, norm1->forward(x), key_bias);
  return h + ff->forward(norm2->forward(h));
}

CaptionEncoder::CaptionEncoder(const CaptionEncoderConfig& c)
    : Module("CaptionEncoder"), config(c) {
  TRIP_CHECK(c.vocab_size >= 3,
             "CaptionEncoder: vocab_size must be >= 3 (the tokenizer's special tokens), got {}",
             c.vocab_size);
  TRIP_CHECK(c.max_length >= 1 && c.width >= 1 && c.layers >= 0 && c.heads >= 1,
             "CaptionEncoder: need max_length >= 1, width >= 1, layers >= 0, heads >= 1; got "
             "max_length={}, width={}, layers={}, heads={}",
             c.max_length, c.width, c.layers, c.heads);
  TRIP_CHECK(c.width % c.heads == 0, "CaptionEncoder: width {} is not divisible by heads {}",
             c.width, c.heads);
  token_embedding =
      register_module("token_embedding", std::make_shared<nn::Embedding>(c.vocab_size, c.width));
  position_embedding =
      register_module("position_embedding", std::make_shared<nn::Embedding>(c.max_length, c.width));
  layers = register_module("layers", std::make_shared<nn::ModuleList>());
  for (int64_t i = 0; i < c.layers; ++i)
    layers->push_back(std::make_shared<CaptionEncoderLayer>(c.width, c.heads));
  final_norm = register_module("final_norm", std::make_shared<nn::LayerNorm>(c.width));
}

Tensor CaptionEncoder::forward(const Tensor& ids) const {
  TRIP_CHECK(ids.defined() && is_integral(ids.dtype()) && ids.dtype() != DType::boolean,
             "CaptionEncoder: ids must be an i32/i64 tensor, got {}",
             ids.defined() ? fmt::format("{}", ids.dtype()) : std::string("an undefined tensor"));
  return forward(ids, eq(ids, double(WordTokenizer::kPad)));
}

Tensor CaptionEncoder::forward(const Tensor& ids, const Tensor& padding_mask) const {
  TRIP_CHECK(ids.defined() && (ids.dtype() == DType::i64 || ids.dtype() == DType::i32),
             "CaptionEncoder: ids must be an i32/i64 tensor, got {}",
             ids.defined() ? fmt::format("{}", ids.dtype()) : std::string("an undefined tensor"));
  TRIP_CHECK(ids.dim() == 2, "CaptionEncoder: ids must be [B, L], got shape {}", ids.shape());
  const int64_t b = ids.size(0), len = ids.size(1);
  TRIP_CHECK(b >= 1 && len >= 1 && len <= config.max_length,
             "CaptionEncoder: ids {} need B >= 1 and 1 <= L <= max_length = {}", ids.shape(),
             config.max_length);
  TRIP_CHECK(padding_mask.defined() && padding_mask.dtype() == DType::boolean &&
                 padding_mask.shape() == ids.shape() && padding_mask.device() == ids.device(),
             "CaptionEncoder: padding_mask must be bool with the shape and device of ids {} on "
             "{}, got {}",
             ids.shape(), ids.device(),
             padding_mask.defined() ? fmt::format("{} {} on {}", padding_mask.dtype(),
                                                  padding_mask.shape(), padding_mask.device())
                                    : std::string("an undefined tensor"));
  TRIP_CHECK(ids.device() == token_embedding->weight.device(),
             "CaptionEncoder: ids are on {} but the parameters on {}", ids.device(),
             token_embedding->weight.device());
  // A bad id would otherwise surface as an index error deep inside the embedding lookup.
  std::vector<int64_t> values = ids.to_vector<int64_t>();
  auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  TRIP_CHECK(*lo >= 0 && *hi < config.vocab_size,
             "CaptionEncoder: ids must lie in [0, vocab_size = {}), got values from {} to {}",
             config.vocab_size, *lo, *hi);

  const Tensor& weight = token_embedding->weight;
  Tensor positions = arange(0, double(len), 1, {DType::i64, ids.device()});
  Tensor x = token_embedding->forward(ids) + position_embedding->forward(positions);  // [B, L, D]
  Tensor key_bias =
      ops::masked_fill(ops::zeros({b, 1, 1, len}, weight.options()),
                       ops::reshape(padding_mask, {b, 1, 1, len}), padded_key_bias(weight.dtype()));
  for (size_t i = 0; i < layers->size(); ++i)
    x = layers->at<CaptionEncoderLayer>(i)->forward(x, key_bias);
  return final_norm->forward(x);
}

std::string CaptionEncoder::extra_repr() const {
  return fmt::format("vocab_size={}, max_length={}, width={}, layers={}, heads={}",
                     config.vocab_size, config.max_length, config.width, config.layers,
                     config.heads);
}

}  // namespace trip
