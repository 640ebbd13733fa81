// defines: Attention, multi-head scaled dot-product attention with diffusers' names (`to_q`,
// `to_k`, `to_v` without bias, `to_out.0` Linear with bias, `to_out.1` Dropout): self-attention
// when no context is given, cross-attention to a context of another width otherwise.
#pragma once
#include <memory>

#include "nn/dropout.h"
#include "nn/linear.h"
#include "nn/module.h"

namespace trip::nn {

// softmax(q k^T * scale) v from matmul + softmax: q [..., Lq, Dh], k/v [..., Lk, Dh]. The
// reference the fused kernel is checked against, and the path used where it is unavailable.
Tensor attention_reference(const Tensor& q, const Tensor& k, const Tensor& v, double scale);

class Attention : public Module {
 public:
  // cross_attention_dim = 0: the context has query_dim channels (self-attention).
  Attention(int64_t query_dim, int64_t cross_attention_dim = 0, int64_t heads = 8,
            int64_t dim_head = 64, double dropout = 0.0, bool bias = false, bool out_bias = true);
  // x [B, Lq, query_dim], context [B, Lk, cross_attention_dim] (undefined: x) -> [B, Lq,
  // query_dim].
  Tensor forward(const Tensor& x, const Tensor& context = Tensor()) const;
  std::string extra_repr() const override;

  int64_t heads, dim_head;
  // true: trip::scaled_dot_product_attention (fused kernel); false: attention_reference.
  bool use_fused = true;
  std::shared_ptr<Linear> to_q, to_k, to_v;
  std::shared_ptr<ModuleList> to_out;  // [Linear(inner, query_dim), Dropout]
};

}  // namespace trip::nn
