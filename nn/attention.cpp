#include "nn/attention.h"

#include <cmath>

#include "autograd/functions.h"

namespace trip::nn {

Tensor attention_reference(const Tensor& q, const Tensor& k, const Tensor& v, double scale) {
  Tensor scores = matmul(q, transpose(k, -1, -2)) * scale;  // [..., Lq, Lk]
  return matmul(softmax(scores, -1), v);
}

Attention::Attention(int64_t query_dim, int64_t cross_dim, int64_t heads_, int64_t dim_head_,
                     double dropout, bool bias, bool out_bias)
    : Module("Attention"), heads(heads_), dim_head(dim_head_) {
  int64_t inner = heads * dim_head;
  int64_t context_dim = cross_dim > 0 ? cross_dim : query_dim;
  to_q = register_module("to_q", std::make_shared<Linear>(query_dim, inner, bias));
  to_k = register_module("to_k", std::make_shared<Linear>(context_dim, inner, bias));
  to_v = register_module("to_v", std::make_shared<Linear>(context_dim, inner, bias));
  to_out = register_module("to_out", std::make_shared<ModuleList>());
  to_out->push_back(std::make_shared<Linear>(inner, query_dim, out_bias));
  to_out->push_back(std::make_shared<Dropout>(dropout));
}

Tensor Attention::forward(const Tensor& x, const Tensor& context) const {
  const Tensor& ctx = context.defined() ? context : x;
  TRIP_CHECK(x.dim() == 3 && ctx.dim() == 3 && x.size(0) == ctx.size(0),
             "Attention: expected x [B, Lq, C] and context [B, Lk, C'], got {} and {}", x.shape(),
             ctx.shape());
  int64_t b = x.size(0), lq = x.size(1), lk = ctx.size(1);
  // [B, L, H * Dh] -> [B, H, L, Dh]: heads become a batch dim of the attention product.
  auto split_heads = [&](const Tensor& t, int64_t len) {
    return permute(reshape(t, {b, len, heads, dim_head}), {0, 2, 1, 3});
  };
  Tensor q = split_heads(to_q->forward(x), lq);
  Tensor k = split_heads(to_k->forward(ctx), lk);
  Tensor v = split_heads(to_v->forward(ctx), lk);
  double scale = 1.0 / std::sqrt(double(dim_head));
  Tensor o = use_fused ? scaled_dot_product_attention(q, k, v, scale)
                       : attention_reference(q, k, v, scale);
  o = reshape(permute(o, {0, 2, 1, 3}), {b, lq, heads * dim_head});
  o = to_out->at<Linear>(0)->forward(o);
  return to_out->at<Dropout>(1)->forward(o);
}

std::string Attention::extra_repr() const {
  return fmt::format("heads={}, dim_head={}", heads, dim_head);
}

}  // namespace trip::nn
