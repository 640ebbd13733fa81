#include "tensor/backend.h"
#include "tensor/ops.h"

namespace trip::ops {

static Tensor softmax_impl(const Tensor& t, int64_t dim, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  TRIP_CHECK(is_floating(t.dtype()), "{}: expected a floating dtype, got {}", name, t.dtype());
  Tensor in = contiguous(t);
  ReduceGeometry g;
  if (t.dim() > 0) g = geometry_around(t.shape(), wrap_dim(dim, t.dim(), name));
  Tensor out = empty(t.shape(), t.options());
  if (out.numel() > 0) backend(t.device()).softmax(in, out, g, log);
  return out;
}

Tensor softmax(const Tensor& t, int64_t dim) { return softmax_impl(t, dim, false); }
Tensor log_softmax(const Tensor& t, int64_t dim) { return softmax_impl(t, dim, true); }

}  // namespace trip::ops
