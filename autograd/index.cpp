// Joining, splitting, indexing and selecting. The backward of each op is its "transpose":
// joining splits the gradient, splitting joins it, gathering scatters it (adding where an
// element was picked more than once), padding crops it, and a selection sends the gradient to
// the side that was selected.
#include "autograd/functions.h"
#include "autograd/record.h"

namespace trip {

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  Tensor out = ops::cat(tensors, dim);  // validates shapes
  int d = wrap_dim(dim, tensors[0].dim(), "cat");
  std::vector<int64_t> sizes;
  for (const Tensor& t : tensors) sizes.push_back(t.shape()[d]);
  return record("CatBackward", out, tensors, [d, sizes](const Tensor& g) {
    Grads grads;
    int64_t at = 0;
    for (int64_t size : sizes) {
      grads.push_back(narrow(g, d, at, size));
      at += size;
    }
    return grads;
  });
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  Tensor out = ops::stack(tensors, dim);
  int d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  return record("StackBackward", out, tensors, [d, n = tensors.size()](const Tensor& g) {
    Grads grads;
    for (size_t i = 0; i < n; ++i) grads.push_back(select(g, d, int64_t(i)));
    return grads;
  });
}

// split and chunk: one node with an output per part; the engine gives zeros to parts that got
// no gradient, so the backward is a plain concatenation.
static std::vector<Tensor> record_parts(const char* name, std::vector<Tensor> parts,
                                        const Tensor& t, int64_t dim) {
  int d = wrap_dim(dim, t.dim(), name);
  return record_outputs(name, std::move(parts), {t},
                        [d](const Grads& g) { return Grads{cat(g, d)}; });
}
std::vector<Tensor> split(const Tensor& t, int64_t split_size, int64_t dim) {
  return record_parts("SplitBackward", ops::split(t, split_size, dim), t, dim);
}
std::vector<Tensor> chunk(const Tensor& t, int64_t chunks, int64_t dim) {
  return record_parts("ChunkBackward", ops::chunk(t, chunks, dim), t, dim);
}

// out = t[..., index[k], ...]: each slice of g is added back to the row it was read from.
Tensor index_select(const Tensor& t, int64_t dim, const Tensor& index) {
  Tensor out = ops::index_select(t, dim, index);
  if (t.dim() == 0)  // only index 0 is valid: the output is t itself
    return record("IndexSelectBackward", out, {t}, [](const Tensor& g) { return Grads{g}; });
  int d = wrap_dim(dim, t.dim(), "index_select");
  return record("IndexSelectBackward", out, {t},
                [d, shape = t.shape(), index = save(index)](const Tensor& g) {
                  Tensor idx = index.get();
                  Dims along = Dims::filled(g.dim(), 1);  // the index laid along dim d ...
                  along[d] = idx.numel();
                  Tensor spread = expand(reshape(idx, along), g.shape());  // ... and spread
                  return Grads{scatter_add(zeros(shape, g.options()), d, spread, g)};
                });
}

Tensor gather(const Tensor& t, int64_t dim, const Tensor& index) {
  return record("GatherBackward", ops::gather(t, dim, index), {t},
                [dim, shape = t.shape(), index = save(index)](const Tensor& g) {
                  return Grads{scatter_add(zeros(shape, g.options()), dim, index.get(), g)};
                });
}

Tensor scatter_add(const Tensor& t, int64_t dim, const Tensor& index, const Tensor& src) {
  return record("ScatterAddBackward", ops::scatter_add(t, dim, index, src), {t, src},
                [dim, index = save(index)](const Tensor& g) {
                  return Grads{g, gather(g, dim, index.get())};
                });
}

// Padding the gradient by the negated amounts crops it back (and, for negative padding, which
// crops in the forward, pads the cropped part with zeros).
Tensor pad(const Tensor& t, const std::vector<int64_t>& pads, double value) {
  std::vector<int64_t> negated;
  for (int64_t p : pads) negated.push_back(-p);
  return record("PadBackward", ops::pad(t, pads, value), {t},
                [negated](const Tensor& g) { return Grads{pad(g, negated)}; });
}

// repeat tiles t: along dim i, output element k comes from input element k % s_i. So viewing the
// gradient's dim i as (repeats[i], s_i), outer first, and summing the repeat axis undoes it. One
// dim at a time, as a 3-d view [before, repeats, s_i * after], keeps within the 8-dim limit.
Tensor repeat(const Tensor& t, const Dims& repeats) {
  return record("RepeatBackward", ops::repeat(t, repeats), {t},
                [repeats, shape = t.shape()](const Tensor& g) {
                  if (g.numel() == 0) return Grads{zeros(shape, g.options())};
                  Tensor grad = g;
                  Dims cur = g.shape();
                  for (int i = 0; i < repeats.size(); ++i) {
                    if (repeats[i] == 1) continue;
                    int64_t before = 1, after = 1;
                    for (int j = 0; j < i; ++j) before *= cur[j];
                    for (int j = i + 1; j < cur.size(); ++j) after *= cur[j];
                    cur[i] /= repeats[i];
                    grad = sum(reshape(grad, {before, repeats[i], cur[i] * after}), {1});
                    grad = reshape(grad, cur);
                  }
                  return Grads{reshape(grad, shape)};
                });
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return record(
      "WhereBackward", ops::where(cond, a, b), {a, b},
      [need_a, need_b, cond = save(cond)](const Tensor& g) {
        Tensor c = cond.get(), zero = zeros({}, g.options());
        return Grads{need_a ? where(c, g, zero) : Tensor(), need_b ? where(c, zero, g) : Tensor()};
      });
}

Tensor masked_fill(const Tensor& t, const Tensor& mask, double value) {
  return record(
      "MaskedFillBackward", ops::masked_fill(t, mask, value), {t},
      [mask = save(mask)](const Tensor& g) { return Grads{masked_fill(g, mask.get(), 0.0)}; });
}

}  // namespace trip
