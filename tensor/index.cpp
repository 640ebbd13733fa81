// Joining, splitting and indexing. cat, pad and repeat need no kernels of their own: they copy
// into views of the output. index_select, gather and scatter_add validate indices here, so the
// kernels can trust them.
#include "tensor/backend.h"
#include "tensor/ops.h"

namespace trip::ops {

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  TRIP_CHECK(!tensors.empty(), "cat: expected at least one tensor");
  const Tensor& first = tensors[0];
  TRIP_CHECK(first.dim() > 0, "cat: zero-dimensional tensors cannot be concatenated");
  int d = wrap_dim(dim, first.dim(), "cat");
  DType dtype = first.dtype();
  int64_t total = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    TRIP_CHECK(t.device() == first.device(), "cat: tensor {} is on {}, tensor 0 on {}", i,
               t.device(), first.device());
    TRIP_CHECK(t.dim() == first.dim(), "cat: tensor {} has shape {}, tensor 0 has shape {}", i,
               t.shape(), first.shape());
    for (int j = 0; j < t.dim(); ++j) {
      TRIP_CHECK(j == d || t.shape()[j] == first.shape()[j],
                 "cat: shapes {} (tensor {}) and {} (tensor 0) differ outside dim {}", t.shape(), i,
                 first.shape(), d);
    }
    dtype = promote(dtype, t.dtype());
    total += t.shape()[d];
  }
  Dims shape = first.shape();
  shape[d] = total;
  Tensor out = empty(shape, TensorOptions(dtype, first.device()));
  int64_t at = 0;
  for (const Tensor& t : tensors) {
    if (t.numel() > 0) backend(out.device()).copy(t, narrow(out, d, at, t.shape()[d]));
    at += t.shape()[d];
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  TRIP_CHECK(!tensors.empty(), "stack: expected at least one tensor");
  int d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> parts;
  for (size_t i = 0; i < tensors.size(); ++i) {
    TRIP_CHECK(tensors[i].shape() == tensors[0].shape(),
               "stack: tensor {} has shape {}, tensor 0 has shape {}", i, tensors[i].shape(),
               tensors[0].shape());
    parts.push_back(unsqueeze(tensors[i], d));
  }
  return cat(parts, d);
}

std::vector<Tensor> split(const Tensor& t, int64_t split_size, int64_t dim) {
  TRIP_CHECK(split_size > 0, "split: split_size must be positive, got {}", split_size);
  int d = wrap_dim(dim, t.dim(), "split");
  std::vector<Tensor> parts;
  int64_t n = t.shape()[d];
  for (int64_t start = 0; start < n; start += split_size) {
    parts.push_back(narrow(t, d, start, std::min(split_size, n - start)));
  }
  if (parts.empty()) parts.push_back(t);
  return parts;
}

std::vector<Tensor> chunk(const Tensor& t, int64_t chunks, int64_t dim) {
  TRIP_CHECK(chunks > 0, "chunk: chunks must be positive, got {}", chunks);
  int d = wrap_dim(dim, t.dim(), "chunk");
  int64_t n = t.shape()[d];
  return split(t, std::max<int64_t>((n + chunks - 1) / chunks, 1), d);
}

// Checks that every index lies in [0, size) (negative indices count from the end and are wrapped
// in a copy) and returns a contiguous i64 index on the tensor's device.
static Tensor checked_index(const Tensor& index, int64_t size, const Tensor& t, const char* op) {
  TRIP_CHECK(index.dtype() == DType::i64 || index.dtype() == DType::i32,
             "{}: index must be i64 or i32, got {}", op, index.dtype());
  TRIP_CHECK(index.device() == t.device(), "{}: index on {} but tensor on {}", op, index.device(),
             t.device());
  std::vector<int64_t> values = index.to_vector<int64_t>();
  bool negative = false;
  for (size_t i = 0; i < values.size(); ++i) {
    int64_t v = values[i];
    TRIP_CHECK(v >= -size && v < size, "{}: index {} at position {} is out of range for size {}",
               op, v, i, size);
    negative |= v < 0;
  }
  if (!negative) return contiguous(to(index, DType::i64));
  for (int64_t& v : values) v = v < 0 ? v + size : v;
  return from_vector(values, index.shape(), TensorOptions(DType::i64, t.device()));
}

Tensor index_select(const Tensor& t, int64_t dim, const Tensor& index) {
  TRIP_CHECK(index.dim() <= 1, "index_select: index must be 0-d or 1-d, got shape {}",
             index.shape());
  Tensor src = t.dim() == 0 ? reshape(t, {1}) : t;
  int d = wrap_dim(dim, src.dim(), "index_select");
  Tensor idx = checked_index(index, src.shape()[d], src, "index_select");
  Dims shape = src.shape();
  shape[d] = idx.numel();
  Tensor out = empty(shape, src.options());
  if (out.numel() > 0) backend(t.device()).index_select(contiguous(src), d, idx, out);
  return t.dim() == 0 ? reshape(out, {}) : out;
}

Tensor gather(const Tensor& t, int64_t dim, const Tensor& index) {
  int d = wrap_dim(dim, t.dim(), "gather");
  TRIP_CHECK(index.dim() == t.dim(), "gather: index has {} dims, tensor has {}", index.dim(),
             t.dim());
  for (int i = 0; i < t.dim(); ++i) {
    TRIP_CHECK(i == d || index.shape()[i] == t.shape()[i],
               "gather: index shape {} must match tensor shape {} outside dim {}", index.shape(),
               t.shape(), d);
  }
  Tensor idx = checked_index(index, t.shape()[d], t, "gather");
  Tensor out = empty(index.shape(), t.options());
  if (out.numel() > 0) backend(t.device()).gather(contiguous(t), d, idx, out);
  return out;
}

Tensor scatter_add(const Tensor& t, int64_t dim, const Tensor& index, const Tensor& src) {
  int d = wrap_dim(dim, t.dim(), "scatter_add");
  TRIP_CHECK(index.shape() == src.shape(), "scatter_add: index shape {} differs from src shape {}",
             index.shape(), src.shape());
  TRIP_CHECK(index.dim() == t.dim(), "scatter_add: index has {} dims, tensor has {}", index.dim(),
             t.dim());
  for (int i = 0; i < t.dim(); ++i) {
    TRIP_CHECK(i == d || index.shape()[i] == t.shape()[i],
               "scatter_add: index shape {} must match tensor shape {} outside dim {}",
               index.shape(), t.shape(), d);
  }
  TRIP_CHECK(src.device() == t.device(), "scatter_add: src on {} but tensor on {}", src.device(),
             t.device());
  Tensor idx = checked_index(index, t.shape()[d], t, "scatter_add");
  Tensor out = clone(t);
  if (src.numel() > 0) {
    backend(t.device()).scatter_add(out, d, idx, contiguous(to(src, t.dtype())));
  }
  return out;
}

Tensor pad(const Tensor& t, const std::vector<int64_t>& pads, double value) {
  TRIP_CHECK(pads.size() % 2 == 0 && int(pads.size() / 2) <= t.dim(),
             "pad: expected (before, after) pairs for at most {} dims, got {} values", t.dim(),
             pads.size());
  Dims shape = t.shape();
  for (size_t p = 0; p < pads.size() / 2; ++p) {
    int d = t.dim() - 1 - int(p);
    shape[d] += pads[2 * p] + pads[2 * p + 1];
    TRIP_CHECK(shape[d] >= 0, "pad: padding {} makes dim {} of shape {} negative", pads[2 * p], d,
               t.shape());
  }
  Tensor out = full(shape, value, t.options());
  // Negative padding crops: narrow the source as well as the destination.
  Tensor src = t, dst = out;
  for (size_t p = 0; p < pads.size() / 2; ++p) {
    int d = t.dim() - 1 - int(p);
    int64_t before = pads[2 * p], after = pads[2 * p + 1];
    int64_t src_start = before < 0 ? -before : 0, dst_start = before > 0 ? before : 0;
    int64_t len = t.shape()[d] - src_start - (after < 0 ? -after : 0);
    if (len <= 0) return out;
    src = narrow(src, d, src_start, len);
    dst = narrow(dst, d, dst_start, len);
  }
  if (src.numel() > 0) backend(t.device()).copy(src, dst);
  return out;
}

Tensor repeat(const Tensor& t, const Dims& repeats) {
  TRIP_CHECK(repeats.size() >= t.dim(), "repeat: {} repeats given for a {}-d tensor",
             repeats.size(), t.dim());
  Tensor out = t;
  while (out.dim() < repeats.size()) out = unsqueeze(out, 0);
  // One concatenation per repeated dim: simple, and never needs more than the output's memory.
  for (int i = 0; i < repeats.size(); ++i) {
    TRIP_CHECK(repeats[i] >= 0, "repeat: negative repeat count {} in {}", repeats[i], repeats);
    if (repeats[i] == 1) continue;
    if (repeats[i] == 0) {
      Dims shape = out.shape();
      shape[i] = 0;
      out = empty(shape, out.options());
      continue;
    }
    out = cat(std::vector<Tensor>(size_t(repeats[i]), out), i);
  }
  return out.is_same(t) ? clone(t) : contiguous(out);
}

}  // namespace trip::ops
