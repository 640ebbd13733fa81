// Scaled dot-product attention (F.scaled_dot_product_attention without mask). The forward keeps
// only the output and the per-row log-sum-exp; the backward kernel recomputes the probabilities
// from them (flash-attention style), so no Lq x Lk matrix is saved between the passes.
#include <cmath>

#include "autograd/functions.h"
#include "autograd/record.h"

namespace trip {

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    std::optional<double> scale) {
  TRIP_CHECK(q.defined() && q.dim() == 4,
             "scaled_dot_product_attention: expected q of rank 4 "
             "[B, H, L, Dh], got {}",
             q.defined() ? q.shape() : Dims{});
  // PyTorch's default: 1/sqrt(Dh) keeps the score variance independent of the head size.
  double s = scale ? *scale : 1.0 / std::sqrt(double(q.size(3)));
  ops::AttentionResult r = ops::attention(q, k, v, s);
  return record("ScaledDotProductAttentionBackward", r.out, {q, k, v},
                [s, q = save(q), k = save(k), v = save(v), out = save(r.out),
                 lse = save(r.lse)](const Tensor& g) {
                  ops::AttentionResult saved{out.get(), lse.get()};
                  ops::AttentionGrads d =
                      ops::attention_backward(g, q.get(), k.get(), v.get(), saved, s);
                  return Grads{d.q, d.k, d.v};
                });
}

}  // namespace trip
