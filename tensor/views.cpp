// Views share storage with their base: only shape, strides and offset change, no data moves.
#include <algorithm>
#include <numeric>

#include "tensor/backend.h"
#include "tensor/ops.h"

namespace trip::ops {

Dims infer_shape(const Dims& shape, int64_t numel, const char* op) {
  Dims out = shape;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      TRIP_CHECK(infer < 0, "{}: only one dim may be -1, got shape {}", op, shape);
      infer = i;
    } else {
      TRIP_CHECK(out[i] >= 0, "{}: invalid size {} in shape {}", op, out[i], shape);
      known *= out[i];
    }
  }
  if (infer >= 0) {
    TRIP_CHECK(known != 0 && numel % known == 0,
               "{}: shape {} is invalid for a tensor of {} elements", op, shape, numel);
    out[infer] = numel / known;
  }
  TRIP_CHECK(numel_of(out) == numel, "{}: shape {} is invalid for a tensor of {} elements", op,
             shape, numel);
  return out;
}

// Strides for viewing `t` as `shape` without a copy, or an empty optional when the memory layout
// forbids it. Groups of old dims that are contiguous among themselves can be re-split freely.
static std::optional<Dims> view_strides(const Tensor& t, const Dims& shape) {
  const Dims& old_shape = t.shape();
  const Dims& old_strides = t.strides();
  Dims strides = Dims::filled(shape.size(), 1);
  if (t.numel() == 0) return contiguous_strides(shape);
  int old_d = 0, new_d = 0;
  int old_n = old_shape.size(), new_n = shape.size();
  while (old_d < old_n || new_d < new_n) {
    // Skip size-1 dims on both sides: they take any stride.
    if (old_d < old_n && old_shape[old_d] == 1) {
      ++old_d;
      continue;
    }
    if (new_d < new_n && shape[new_d] == 1) {
      strides[new_d] = 1;
      ++new_d;
      continue;
    }
    if (old_d >= old_n || new_d >= new_n) return std::nullopt;
    // Collect a chunk of old dims that is contiguous (each stride = next stride * next size).
    int chunk_end = old_d, last = old_d;  // last: innermost non-1 dim of the chunk
    int64_t chunk_numel = old_shape[old_d];
    while (chunk_end + 1 < old_n) {
      int next = chunk_end + 1;
      if (old_shape[next] != 1) {
        if (old_strides[last] != old_strides[next] * old_shape[next]) break;
        last = next;
      }
      chunk_end = next;
      chunk_numel *= old_shape[next];
    }
    int64_t base = old_strides[last];  // the chunk's innermost stride
    // Consume new dims whose product equals the chunk's element count.
    int64_t acc = 1;
    int first_new = new_d;
    while (new_d < new_n && acc < chunk_numel) {
      acc *= shape[new_d];
      ++new_d;
    }
    if (acc != chunk_numel) return std::nullopt;
    int64_t stride = base;
    for (int d = new_d - 1; d >= first_new; --d) {
      strides[d] = stride;
      stride *= shape[d];
    }
    old_d = chunk_end + 1;
  }
  return strides;
}

Tensor view(const Tensor& t, Dims shape) {
  shape = infer_shape(shape, t.numel(), "view");
  auto strides = view_strides(t, shape);
  TRIP_CHECK(strides.has_value(),
             "view: cannot view a tensor of shape {} and strides {} as {} without a copy; use "
             "reshape",
             t.shape(), t.strides(), shape);
  return t.as_strided(shape, *strides, t.offset());
}

std::optional<Tensor> try_view(const Tensor& t, Dims shape) {
  shape = infer_shape(shape, t.numel(), "view");
  if (auto strides = view_strides(t, shape)) return t.as_strided(shape, *strides, t.offset());
  return std::nullopt;
}

Tensor reshape(const Tensor& t, Dims shape) {
  shape = infer_shape(shape, t.numel(), "reshape");
  if (auto strides = view_strides(t, shape)) return t.as_strided(shape, *strides, t.offset());
  return view(clone(t), shape);
}

Tensor permute(const Tensor& t, const Dims& dims) {
  TRIP_CHECK(dims.size() == t.dim(), "permute: {} dims given for a {}-d tensor", dims.size(),
             t.dim());
  Dims shape, strides;
  uint32_t seen = 0;
  for (int64_t d : dims) {
    int w = wrap_dim(d, t.dim(), "permute");
    TRIP_CHECK(!(seen & (1u << w)), "permute: dim {} repeated in {}", w, dims);
    seen |= 1u << w;
    shape.push_back(t.shape()[w]);
    strides.push_back(t.strides()[w]);
  }
  return t.as_strided(shape, strides, t.offset());
}

Tensor transpose(const Tensor& t, int64_t dim0, int64_t dim1) {
  Dims dims;
  for (int i = 0; i < t.dim(); ++i) dims.push_back(i);
  if (t.dim() == 0) return t.as_strided({}, {}, t.offset());
  std::swap(dims[wrap_dim(dim0, t.dim(), "transpose")], dims[wrap_dim(dim1, t.dim(), "transpose")]);
  return permute(t, dims);
}

Tensor slice(const Tensor& t, int64_t dim, int64_t start, int64_t end, int64_t step) {
  TRIP_CHECK(t.dim() > 0, "slice: cannot slice a 0-d tensor");
  int d = wrap_dim(dim, t.dim(), "slice");
  TRIP_CHECK(step > 0, "slice: step must be positive, got {}", step);
  int64_t n = t.shape()[d];
  // Python-style clamping of negative and out-of-range bounds.
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Dims shape = t.shape(), strides = t.strides();
  shape[d] = (end - start + step - 1) / step;
  strides[d] *= step;
  return t.as_strided(shape, strides, t.offset() + start * t.strides()[d]);
}

Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length) {
  TRIP_CHECK(t.dim() > 0, "narrow: cannot narrow a 0-d tensor");
  int d = wrap_dim(dim, t.dim(), "narrow");
  int64_t n = t.shape()[d];
  if (start < 0) start += n;
  TRIP_CHECK(start >= 0 && length >= 0 && start + length <= n,
             "narrow: range [{}, {}) out of bounds for dim {} of size {} (shape {})", start,
             start + length, d, n, t.shape());
  Dims shape = t.shape();
  shape[d] = length;
  return t.as_strided(shape, t.strides(), t.offset() + start * t.strides()[d]);
}

Tensor select(const Tensor& t, int64_t dim, int64_t index) {
  TRIP_CHECK(t.dim() > 0, "select: cannot select from a 0-d tensor");
  int d = wrap_dim(dim, t.dim(), "select");
  int64_t n = t.shape()[d];
  TRIP_CHECK(index >= -n && index < n, "select: index {} out of range for dim {} of size {}", index,
             d, n);
  if (index < 0) index += n;
  Dims shape = t.shape(), strides = t.strides();
  int64_t offset = t.offset() + index * strides[d];
  shape.erase(d);
  strides.erase(d);
  return t.as_strided(shape, strides, offset);
}

Tensor expand(const Tensor& t, const Dims& shape) {
  TRIP_CHECK(shape.size() >= t.dim(), "expand: target shape {} has fewer dims than {}", shape,
             t.shape());
  int lead = shape.size() - t.dim();
  Dims out_shape = shape, strides = Dims::filled(shape.size(), 0);
  for (int i = 0; i < shape.size(); ++i) {
    if (i < lead) {
      TRIP_CHECK(shape[i] >= 0, "expand: new leading dim {} cannot be -1 (target {})", i, shape);
      continue;
    }
    int64_t have = t.shape()[i - lead];
    int64_t want = shape[i] == -1 ? have : shape[i];
    TRIP_CHECK(have == want || have == 1, "expand: cannot expand shape {} to {} (dim {}: {} to {})",
               t.shape(), shape, i, have, want);
    out_shape[i] = want;
    strides[i] = have == want ? t.strides()[i - lead] : 0;
  }
  return t.as_strided(out_shape, strides, t.offset());
}

Tensor squeeze(const Tensor& t) {
  Dims shape, strides;
  for (int i = 0; i < t.dim(); ++i) {
    if (t.shape()[i] == 1) continue;
    shape.push_back(t.shape()[i]);
    strides.push_back(t.strides()[i]);
  }
  return t.as_strided(shape, strides, t.offset());
}

Tensor squeeze(const Tensor& t, int64_t dim) {
  if (t.dim() == 0) return t.as_strided({}, {}, t.offset());
  int d = wrap_dim(dim, t.dim(), "squeeze");
  if (t.shape()[d] != 1) return t.as_strided(t.shape(), t.strides(), t.offset());
  Dims shape = t.shape(), strides = t.strides();
  shape.erase(d);
  strides.erase(d);
  return t.as_strided(shape, strides, t.offset());
}

Tensor unsqueeze(const Tensor& t, int64_t dim) {
  int d = wrap_dim(dim, t.dim() + 1, "unsqueeze");
  Dims shape = t.shape(), strides = t.strides();
  int64_t stride = d < t.dim() ? t.strides()[d] * t.shape()[d] : 1;
  shape.insert(d, 1);
  strides.insert(d, stride);
  return t.as_strided(shape, strides, t.offset());
}

Tensor flatten(const Tensor& t, int64_t start_dim, int64_t end_dim) {
  if (t.dim() == 0) return reshape(t, {1});
  int s = wrap_dim(start_dim, t.dim(), "flatten"), e = wrap_dim(end_dim, t.dim(), "flatten");
  TRIP_CHECK(s <= e, "flatten: start_dim {} after end_dim {}", s, e);
  Dims shape;
  for (int i = 0; i < s; ++i) shape.push_back(t.shape()[i]);
  int64_t merged = 1;
  for (int i = s; i <= e; ++i) merged *= t.shape()[i];
  shape.push_back(merged);
  for (int i = e + 1; i < t.dim(); ++i) shape.push_back(t.shape()[i]);
  return reshape(t, shape);
}

Tensor contiguous(const Tensor& t) { return t.is_contiguous() ? t : clone(t); }

Tensor clone(const Tensor& t) {
  Tensor out = empty(t.shape(), t.options());
  if (t.numel() > 0) backend(t.device()).copy(t, out);
  return out;
}

Tensor to(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = empty(t.shape(), TensorOptions(dtype, t.device()));
  if (t.numel() > 0) backend(t.device()).copy(t, out);
  return out;
}

Tensor to(const Tensor& t, Device device) {
  if (t.device() == device) return t;
  Tensor src = contiguous(t);
  Tensor out = empty(t.shape(), TensorOptions(t.dtype(), device));
  if (t.numel() == 0) return out;
  // The CUDA backend knows both sides of every transfer that involves a GPU.
  Backend& b = device.is_cuda() ? backend(device) : backend(t.device());
  b.transfer(src, out);
  return out;
}

}  // namespace trip::ops
