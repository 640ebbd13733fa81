// View and layout ops. Their backward moves the gradient back to the input's layout: shape-only
// ops reshape it, permutations permute it back, and ops that pick part of the input (narrow,
// slice, select) write it into the same part of a zero tensor.
#include "autograd/functions.h"
#include "autograd/record.h"

namespace trip {

// For ops that only change the shape: the gradient is the incoming one in the input's shape.
static Tensor record_reshape(const char* name, const Tensor& out, const Tensor& t) {
  return record(name, out, {t},
                [shape = t.shape()](const Tensor& g) { return Grads{reshape(g, shape)}; });
}

Tensor view(const Tensor& t, Dims shape) {
  return record_reshape("ViewBackward", ops::view(t, shape), t);
}
Tensor reshape(const Tensor& t, Dims shape) {
  return record_reshape("ReshapeBackward", ops::reshape(t, shape), t);
}
Tensor squeeze(const Tensor& t) { return record_reshape("SqueezeBackward", ops::squeeze(t), t); }
Tensor squeeze(const Tensor& t, int64_t dim) {
  return record_reshape("SqueezeBackward", ops::squeeze(t, dim), t);
}
Tensor unsqueeze(const Tensor& t, int64_t dim) {
  return record_reshape("UnsqueezeBackward", ops::unsqueeze(t, dim), t);
}
Tensor flatten(const Tensor& t, int64_t start_dim, int64_t end_dim) {
  return record_reshape("FlattenBackward", ops::flatten(t, start_dim, end_dim), t);
}

Tensor permute(const Tensor& t, const Dims& dims) {
  Tensor out = ops::permute(t, dims);  // validates dims
  Dims inverse = Dims::filled(t.dim(), 0);
  for (int i = 0; i < dims.size(); ++i) inverse[wrap_dim(dims[i], t.dim(), "permute")] = i;
  return record("PermuteBackward", out, {t},
                [inverse](const Tensor& g) { return Grads{permute(g, inverse)}; });
}

Tensor transpose(const Tensor& t, int64_t dim0, int64_t dim1) {
  return record("TransposeBackward", ops::transpose(t, dim0, dim1), {t},
                [dim0, dim1](const Tensor& g) { return Grads{transpose(g, dim0, dim1)}; });
}

Tensor expand(const Tensor& t, const Dims& shape) {
  return record("ExpandBackward", ops::expand(t, shape), {t},
                [shape = t.shape()](const Tensor& g) { return Grads{sum_to(g, shape)}; });
}

// The gradient of a view that picks part of t: zeros of t's shape with g written into the same
// part (`part` applies the forward view to that zero tensor).
template <typename Part>
static Tensor record_part(const char* name, const Tensor& out, const Tensor& t, Part part) {
  return record(name, out, {t}, [shape = t.shape(), part](const Tensor& g) {
    Tensor grad = ops::zeros(shape, g.options());
    ops::copy_(part(grad), g);  // a fresh tensor nobody else sees: in place is safe here
    return Grads{grad};
  });
}

Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length) {
  return record_part("NarrowBackward", ops::narrow(t, dim, start, length), t,
                     [=](const Tensor& z) { return ops::narrow(z, dim, start, length); });
}
Tensor slice(const Tensor& t, int64_t dim, int64_t start, int64_t end, int64_t step) {
  return record_part("SliceBackward", ops::slice(t, dim, start, end, step), t,
                     [=](const Tensor& z) { return ops::slice(z, dim, start, end, step); });
}
Tensor select(const Tensor& t, int64_t dim, int64_t index) {
  return record_part("SelectBackward", ops::select(t, dim, index), t,
                     [=](const Tensor& z) { return ops::select(z, dim, index); });
}

// contiguous() and clone() copy values unchanged: the gradient passes through.
Tensor contiguous(const Tensor& t) {
  return record("ContiguousBackward", ops::contiguous(t), {t},
                [](const Tensor& g) { return Grads{g}; });
}
Tensor clone(const Tensor& t) {
  return record("CloneBackward", ops::clone(t), {t}, [](const Tensor& g) { return Grads{g}; });
}

// Conversions: the gradient goes back to the input's dtype or device.
Tensor to(const Tensor& t, DType dtype) {
  return record("ToDtypeBackward", ops::to(t, dtype), {t},
                [from = t.dtype()](const Tensor& g) { return Grads{to(g, from)}; });
}
Tensor to(const Tensor& t, Device device) {
  return record("ToDeviceBackward", ops::to(t, device), {t},
                [from = t.device()](const Tensor& g) { return Grads{to(g, from)}; });
}

}  // namespace trip
