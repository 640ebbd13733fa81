// Reductions. A reduced output has lost dims, so each backward first reshapes the incoming
// gradient to the "keepdim" shape (reduced dims of size 1) and lets broadcasting spread it back
// over the reduced elements.
#include <cmath>

#include "autograd/functions.h"
#include "autograd/record.h"

namespace trip {

// The input's shape with the reduced dims (all when `dims` is empty) set to 1.
static Dims keepdim_shape(const Tensor& t, const Dims& dims, const char* op) {
  Dims keep = t.shape();
  if (dims.empty()) return Dims::filled(t.dim(), 1);
  for (int64_t d : dims) keep[wrap_dim(d, t.dim(), op)] = 1;
  return keep;
}

// value where cond is false, 0 where it is true (formulas that divide by a norm that may be 0).
static Tensor zero_where(const Tensor& cond, const Tensor& value) {
  return where(cond, zeros({}, value.options()), value);
}

Tensor sum(const Tensor& t, const Dims& dims, bool keepdim) {
  return record("SumBackward", ops::sum(t, dims, keepdim), {t},
                [shape = t.shape(), keep = keepdim_shape(t, dims, "sum")](const Tensor& g) {
                  return Grads{expand(reshape(g, keep), shape)};
                });
}

Tensor mean(const Tensor& t, const Dims& dims, bool keepdim) {
  Dims keep = keepdim_shape(t, dims, "mean");
  double count = double(t.numel()) / double(std::max<int64_t>(numel_of(keep), 1));
  return record("MeanBackward", ops::mean(t, dims, keepdim), {t},
                [shape = t.shape(), keep, count](const Tensor& g) {
                  return Grads{expand(reshape(g, keep) / count, shape)};
                });
}

// amax/amin: the gradient is shared evenly by the elements equal to the extreme (PyTorch's rule;
// it makes amax(x) of a constant x differentiable as the mean).
static Tensor extreme(bool is_max, const Tensor& t, const Dims& dims, bool keepdim) {
  Tensor out = is_max ? ops::amax(t, dims, keepdim) : ops::amin(t, dims, keepdim);
  Dims keep = keepdim_shape(t, dims, is_max ? "amax" : "amin");
  return record(is_max ? "AmaxBackward" : "AminBackward", out, {t},
                [dims, keep, t = save(t), out = save(out)](const Tensor& g) {
                  Tensor hit = to(eq(t.get(), reshape(out.get(), keep)), g.dtype());
                  return Grads{hit * (reshape(g, keep) / sum(hit, dims, /*keepdim=*/true))};
                });
}
Tensor amax(const Tensor& t, const Dims& dims, bool keepdim) {
  return extreme(true, t, dims, keepdim);
}
Tensor amin(const Tensor& t, const Dims& dims, bool keepdim) {
  return extreme(false, t, dims, keepdim);
}

// max/min along a dim: the whole gradient goes to the element the index names (the first
// extreme), scattered into zeros.
static std::pair<Tensor, Tensor> extreme_with_index(bool is_max, const Tensor& t, int64_t dim,
                                                    bool keepdim) {
  auto [values, indices] = is_max ? ops::max(t, dim, keepdim) : ops::min(t, dim, keepdim);
  if (t.dim() == 0) {  // a 0-d tensor is its own extreme
    return {record(is_max ? "MaxBackward" : "MinBackward", values, {t},
                   [](const Tensor& g) { return Grads{g}; }),
            indices};
  }
  int d = wrap_dim(dim, t.dim(), is_max ? "max" : "min");
  Dims keep = t.shape();
  keep[d] = 1;
  values =
      record(is_max ? "MaxBackward" : "MinBackward", values, {t},
             [d, keep, shape = t.shape(), indices = save(indices)](const Tensor& g) {
               Tensor index = reshape(indices.get(), keep);
               return Grads{scatter_add(zeros(shape, g.options()), d, index, reshape(g, keep))};
             });
  return {values, indices};
}
std::pair<Tensor, Tensor> max(const Tensor& t, int64_t dim, bool keepdim) {
  return extreme_with_index(true, t, dim, keepdim);
}
std::pair<Tensor, Tensor> min(const Tensor& t, int64_t dim, bool keepdim) {
  return extreme_with_index(false, t, dim, keepdim);
}

// var = sum((x - mean)^2) / (N - correction)  =>  dvar/dx = 2 (x - mean) / (N - correction)
// (the mean's own dependence on x cancels because the deviations sum to zero).
Tensor var(const Tensor& t, const Dims& dims, int64_t correction, bool keepdim) {
  Dims keep = keepdim_shape(t, dims, "var");
  double n = double(t.numel()) / double(std::max<int64_t>(numel_of(keep), 1));
  return record("VarBackward", ops::var(t, dims, correction, keepdim), {t},
                [dims, keep, scale = 2.0 / (n - double(correction)), t = save(t)](const Tensor& g) {
                  Tensor x = t.get();
                  Tensor centered = x - mean(x, dims, /*keepdim=*/true);
                  return Grads{reshape(g, keep) * centered * scale};
                });
}

// std = sqrt(var): the chain rule through the two recorded ops is exactly its derivative.
Tensor std(const Tensor& t, const Dims& dims, int64_t correction, bool keepdim) {
  return sqrt(var(t, dims, correction, keepdim));
}

// d||x||_p/dx = sign(x) |x|^(p-1) / ||x||^(p-1); taken as 0 where the norm is 0 (as PyTorch),
// so the norm of a zero vector does not poison training with NaN.
Tensor norm(const Tensor& t, double p, const Dims& dims, bool keepdim) {
  Tensor out = ops::norm(t, p, dims, keepdim);
  Dims keep = keepdim_shape(t, dims, "norm");
  return record(
      "NormBackward", out, {t}, [p, dims, keep, t = save(t), out = save(out)](const Tensor& g) {
        Tensor x = t.get(), n = reshape(out.get(), keep), gk = reshape(g, keep);
        if (p == 1) return Grads{sign(x) * gk};
        if (std::isinf(p)) {  // like amax of |x|: ties share the gradient
          Tensor hit = to(eq(abs(x), n), g.dtype());
          return Grads{sign(x) * hit * (gk / sum(hit, dims, /*keepdim=*/true))};
        }
        Tensor grad = p == 2 ? x * (gk / n) : sign(x) * pow(abs(x), p - 1) * (gk / pow(n, p - 1));
        return Grads{zero_where(eq(n, 0.0), grad)};
      });
}

Tensor sum_to(const Tensor& t, const Dims& shape) {
  return record("SumToBackward", ops::sum_to(t, shape), {t},
                [shape = t.shape()](const Tensor& g) { return Grads{expand(g, shape)}; });
}

}  // namespace trip
