#include "tensor/backend.h"
#include "tensor/ops.h"

namespace trip::ops {

static Tensor softmax_impl(const Tensor& t, int64_t dim, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  TRIP_CHECK(is_floating(t.dtype()), "{}: expected a floating dtype, got {}", name, t.dtype());
  Tensor in = contiguous(t);
  ReduceGeometry g;
  if (t.dim() > 0) {
    int d = wrap_dim(dim, t.dim(), name);
    for (int i = 0; i < t.dim(); ++i) {
      if (i < d)
        g.outer *= t.shape()[i];
      else if (i == d)
        g.reduced = t.shape()[i];
      else
        g.inner *= t.shape()[i];
    }
  }
  Tensor out = empty(t.shape(), t.options());
  if (out.numel() > 0) backend(t.device()).softmax(in, out, g, log);
  return out;
}

Tensor softmax(const Tensor& t, int64_t dim) { return softmax_impl(t, dim, false); }
Tensor log_softmax(const Tensor& t, int64_t dim) { return softmax_impl(t, dim, true); }

}  // namespace trip::ops
