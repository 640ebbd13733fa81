// GroupNorm (+ fused SiLU), LayerNorm and AdaLN. Each forward is one fused kernel that also
// returns the per-group/row mean and rstd; the backward is one fused kernel that recomputes the
// normalised values (and the pre-SiLU activation) from x and those statistics instead of saving
// the output, so only x and two small tensors stay alive between forward and backward.
#include <array>

#include "autograd/functions.h"
#include "autograd/record.h"

namespace trip {

namespace {

bool wants(const Tensor& t) { return t.defined() && t.requires_grad(); }

}  // namespace

Tensor group_norm(const Tensor& x, int64_t groups, const Tensor& weight, const Tensor& bias,
                  double eps, bool silu) {
  ops::NormResult r = ops::group_norm(x, groups, weight, bias, eps, silu);
  return record(
      silu ? "GroupNormSiluBackward" : "GroupNormBackward", r.out, {x, weight, bias},
      [x = save(x), w = save(weight), b = save(bias), mean = save(r.mean), rstd = save(r.rstd),
       groups, silu,
       need = std::array<bool, 3>{wants(x), wants(weight), wants(bias)}](const Tensor& g) {
        ops::NormGrads d = ops::group_norm_backward(g, x.get(), w.get(), b.get(),
                                                    {Tensor(), mean.get(), rstd.get()}, groups,
                                                    silu, need[0], need[1], need[2]);
        return Grads{d.x, d.weight, d.bias};
      });
}

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  ops::NormResult r = ops::layer_norm(x, weight, bias, Tensor(), Tensor(), eps);
  return record(
      "LayerNormBackward", r.out, {x, weight, bias},
      [x = save(x), w = save(weight), b = save(bias), mean = save(r.mean), rstd = save(r.rstd),
       need = std::array<bool, 3>{wants(x), wants(weight), wants(bias)}](const Tensor& g) {
        ops::NormGrads d = ops::layer_norm_backward(g, x.get(), w.get(), b.get(), Tensor(),
                                                    Tensor(), {Tensor(), mean.get(), rstd.get()},
                                                    need[0], need[1], need[2], false, false);
        return Grads{d.x, d.weight, d.bias};
      });
}

// y = (norm(x) * w + b) * (1 + scale[b]) + shift[b]
Tensor ada_layer_norm(const Tensor& x, const Tensor& scale, const Tensor& shift,
                      const Tensor& weight, const Tensor& bias, double eps) {
  ops::NormResult r = ops::layer_norm(x, weight, bias, scale, shift, eps);
  return record("AdaLayerNormBackward", r.out, {x, scale, shift, weight, bias},
                [x = save(x), sc = save(scale), sh = save(shift), w = save(weight), b = save(bias),
                 mean = save(r.mean), rstd = save(r.rstd),
                 need = std::array<bool, 5>{wants(x), wants(scale), wants(shift), wants(weight),
                                            wants(bias)}](const Tensor& g) {
                  ops::NormGrads d =
                      ops::layer_norm_backward(g, x.get(), w.get(), b.get(), sc.get(), sh.get(),
                                               {Tensor(), mean.get(), rstd.get()}, need[0], need[3],
                                               need[4], need[1], need[2]);
                  return Grads{d.x, d.scale, d.shift, d.weight, d.bias};
                });
}

}  // namespace trip
