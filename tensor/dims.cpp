#include "tensor/dims.h"

#include <algorithm>

namespace trip {

void Dims::insert(int pos, int64_t x) {
  TRIP_CHECK(n_ < kMaxDims, "tensors have at most {} dims", kMaxDims);
  for (int i = n_; i > pos; --i) v_[i] = v_[i - 1];
  v_[pos] = x;
  ++n_;
}

void Dims::erase(int pos) {
  for (int i = pos; i + 1 < n_; ++i) v_[i] = v_[i + 1];
  --n_;
}

void Dims::resize(int n, int64_t fill) {
  TRIP_CHECK(n >= 0 && n <= kMaxDims, "tensors have at most {} dims, asked for {}", kMaxDims, n);
  for (int i = n_; i < n; ++i) v_[i] = fill;
  n_ = n;
}

int64_t numel_of(const Dims& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

Dims contiguous_strides(const Dims& shape) {
  Dims strides = Dims::filled(shape.size(), 1);
  int64_t acc = 1;
  for (int i = shape.size() - 1; i >= 0; --i) {
    strides[i] = acc;
    acc *= std::max<int64_t>(shape[i], 1);
  }
  return strides;
}

Dims broadcast_shapes(const Dims& a, const Dims& b, const char* op) {
  int n = std::max(a.size(), b.size());
  Dims out = Dims::filled(n, 1);
  for (int i = 0; i < n; ++i) {
    int ia = a.size() - n + i, ib = b.size() - n + i;
    int64_t sa = ia >= 0 ? a[ia] : 1, sb = ib >= 0 ? b[ib] : 1;
    if (sa == sb || sb == 1) {
      out[i] = sa;
    } else if (sa == 1) {
      out[i] = sb;
    } else {
      fail("{}: shapes {} and {} cannot be broadcast (dim {}: {} vs {})", op, a, b, i - n, sa, sb);
    }
  }
  return out;
}

int wrap_dim(int64_t dim, int ndim, const char* op) {
  int64_t lo = ndim == 0 ? -1 : -ndim, hi = ndim == 0 ? 0 : ndim - 1;
  TRIP_CHECK(dim >= lo && dim <= hi, "{}: dim {} out of range for a {}-d tensor (expected {}..{})",
             op, dim, ndim, lo, hi);
  return int(dim < 0 ? dim + std::max(ndim, 1) : dim);
}

std::string to_string(const Dims& d) {
  std::string s = "[";
  for (int i = 0; i < d.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(d[i]);
  }
  return s + "]";
}

}  // namespace trip
