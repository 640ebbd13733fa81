// matmul with NumPy semantics: 1-d operands gain and then lose a dim, batch dims broadcast. The
// kernels see [B, M, K] @ [B, K, N]; broadcast batches keep stride 0 whenever the layout allows,
// so a weight shared by every batch entry is never copied (and when the batch's rows are evenly
// spaced, they make one tall matrix: one product instead of a batch of small ones).
#include "tensor/backend.h"
#include "tensor/ops.h"

namespace trip::ops {

// Views t (whose last two dims are a matrix) as [B, rows, cols], copying only when the batch
// dims cannot be merged into one stride.
static Tensor as_batched(const Tensor& t, int64_t batch) {
  int n = t.dim();
  Dims shape{batch, t.shape()[n - 2], t.shape()[n - 1]};
  // Non-mergeable batch strides (e.g. broadcast in one batch dim only) need a copy.
  if (auto v = try_view(t, shape)) return *v;
  return view(contiguous(t), shape);
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  TRIP_CHECK(a.device() == b.device(), "matmul: tensors on different devices ({} and {})",
             a.device(), b.device());
  TRIP_CHECK(a.dim() >= 1 && b.dim() >= 1,
             "matmul: operands must have at least 1 dim, got {} and {}", a.shape(), b.shape());
  TRIP_CHECK(is_floating(a.dtype()) && is_floating(b.dtype()),
             "matmul: expected floating dtypes, got {} and {}", a.dtype(), b.dtype());
  DType dtype = promote(a.dtype(), b.dtype());
  Tensor x = a.dim() == 1 ? unsqueeze(a, 0) : a;
  Tensor y = b.dim() == 1 ? unsqueeze(b, 1) : b;
  int64_t m = x.size(-2), k = x.size(-1), n = y.size(-1);
  TRIP_CHECK(y.size(-2) == k, "matmul: inner dims differ: {} @ {} (contracting {} with {})",
             a.shape(), b.shape(), k, y.size(-2));
  Dims batch_a(x.shape()), batch_b(y.shape());
  batch_a.resize(x.dim() - 2);
  batch_b.resize(y.dim() - 2);
  Dims batch = broadcast_shapes(batch_a, batch_b, "matmul");
  int64_t count = numel_of(batch);

  Dims shape_a = batch, shape_b = batch, out_shape = batch;
  shape_a.push_back(m), shape_a.push_back(k);
  shape_b.push_back(k), shape_b.push_back(n);
  out_shape.push_back(m), out_shape.push_back(n);
  Tensor x3 = as_batched(expand(to(x, dtype), shape_a), count);
  Tensor y3 = as_batched(expand(to(y, dtype), shape_b), count);
  Tensor out = empty(out_shape, TensorOptions(dtype, a.device()));
  if (out.numel() > 0) {
    if (k == 0) {
      backend(a.device()).fill(out, 0.0);
    } else if (count > 1 && y3.stride(0) == 0 && x3.stride(0) == m * x3.stride(1)) {
      // One matrix b shared by the whole batch (a Linear weight on [B, T, K]): a single
      // [count * m, k] @ [k, n] product, not count small ones that each pack b again.
      backend(a.device())
          .matmul(view(x3, {1, count * m, k}), narrow(y3, 0, 0, 1), view(out, {1, count * m, n}));
    } else {
      backend(a.device()).matmul(x3, y3, view(out, {count, m, n}));
    }
  }
  // Drop the dims that 1-d operands gained.
  if (a.dim() == 1) out = squeeze(out, -2);
  if (b.dim() == 1) out = squeeze(out, -1);
  return out;
}

}  // namespace trip::ops
