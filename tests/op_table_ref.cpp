// The naive references of the op table. Each is a direct transcription of the op's definition
// over multi-indices; none shares code with the tensor layer.
#include "tests/op_table_ref.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace trip::optest::ref {

namespace {

// Advances a row-major multi-index over `shape`; false after the last one.
bool next(Index& idx, const Dims& shape) {
  for (int d = int(idx.size()) - 1; d >= 0; --d) {
    if (++idx[d] < shape[d]) return true;
    idx[d] = 0;
  }
  return false;
}

// Calls f for every multi-index of `shape` in row-major order.
void for_each_index(const Dims& shape, const std::function<void(const Index&)>& f) {
  if (numel_of(shape) == 0) return;
  Index idx(shape.size(), 0);
  do f(idx);
  while (next(idx, shape));
}

int64_t flat(const Dims& shape, const Index& idx) {
  int64_t offset = 0;
  for (int d = 0; d < shape.size(); ++d) offset = offset * shape[d] + idx[d];
  return offset;
}

void require(bool ok, const char* what) {
  if (!ok) throw std::logic_error(std::string("reference: ") + what);
}

}  // namespace

int wrap(int64_t dim, int ndim) {
  int n = std::max(ndim, 1);
  require(dim >= -n && dim < n, "dim out of range");
  return int(dim < 0 ? dim + n : dim);
}

double at(const Host& t, const Index& idx) { return t.v[flat(t.shape, idx)]; }

Host build(const Dims& shape, const std::function<double(const Index&)>& f) {
  Host out{shape, {}};
  out.v.reserve(numel_of(shape));
  for_each_index(shape, [&](const Index& idx) { out.v.push_back(f(idx)); });
  return out;
}

Host scalar(double value) { return Host{{}, {value}}; }

Dims broadcast(const Dims& a, const Dims& b) {
  int n = std::max(a.size(), b.size());
  Dims out;
  for (int i = 0; i < n; ++i) {
    int ia = i - (n - a.size()), ib = i - (n - b.size());
    int64_t sa = ia >= 0 ? a[ia] : 1, sb = ib >= 0 ? b[ib] : 1;
    require(sa == sb || sa == 1 || sb == 1, "shapes do not broadcast");
    out.push_back(sa == 1 ? sb : sa);
  }
  return out;
}

double at_broadcast(const Host& t, const Dims& out_shape, const Index& idx) {
  int lead = out_shape.size() - t.shape.size();
  Index src(t.shape.size());
  for (int d = 0; d < t.shape.size(); ++d) src[d] = t.shape[d] == 1 ? 0 : idx[d + lead];
  return at(t, src);
}

Host map(const Host& a, const std::function<double(double)>& f) {
  Host out = a;
  for (double& x : out.v) x = f(x);
  return out;
}

Host zip(const Host& a, const Host& b, const std::function<double(double, double)>& f) {
  Dims shape = broadcast(a.shape, b.shape);
  return build(shape, [&](const Index& i) {
    return f(at_broadcast(a, shape, i), at_broadcast(b, shape, i));
  });
}

Host zip3(const Host& a, const Host& b, const Host& c,
          const std::function<double(double, double, double)>& f) {
  Dims shape = broadcast(broadcast(a.shape, b.shape), c.shape);
  return build(shape, [&](const Index& i) {
    return f(at_broadcast(a, shape, i), at_broadcast(b, shape, i), at_broadcast(c, shape, i));
  });
}

Host reduce(const Host& t, const Dims& dims, bool keepdim,
            const std::function<double(const std::vector<double>&)>& f) {
  int n = t.shape.size();
  if (n == 0) return Host{{}, {f(t.v)}};  // a 0-d tensor reduces over its one element
  std::vector<bool> reduced(n, dims.empty());
  for (int64_t d : dims) reduced[wrap(d, n)] = true;
  Dims kept_shape, reduced_shape, out_shape;
  for (int d = 0; d < n; ++d) {
    (reduced[d] ? reduced_shape : kept_shape).push_back(t.shape[d]);
    if (!reduced[d])
      out_shape.push_back(t.shape[d]);
    else if (keepdim)
      out_shape.push_back(1);
  }
  Host kept = build(kept_shape, [&](const Index& k) {
    std::vector<double> values;
    for_each_index(reduced_shape, [&](const Index& r) {
      Index full(n);
      for (int d = 0, ik = 0, ir = 0; d < n; ++d) full[d] = reduced[d] ? r[ir++] : k[ik++];
      values.push_back(at(t, full));
    });
    return f(values);
  });
  kept.shape = out_shape;  // same element order: only size-1 dims differ
  return kept;
}

double sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}
double mean(const std::vector<double>& v) { return sum(v) / double(v.size()); }
double max(const std::vector<double>& v) { return v[size_t(argmax(v))]; }
double min(const std::vector<double>& v) { return v[size_t(argmin(v))]; }
double argmax(const std::vector<double>& v) {
  size_t best = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (std::isnan(v[i])) return double(i);
    if (v[i] > v[best]) best = i;
  }
  return double(best);
}
double argmin(const std::vector<double>& v) {
  size_t best = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (std::isnan(v[i])) return double(i);
    if (v[i] < v[best]) best = i;
  }
  return double(best);
}
double var(const std::vector<double>& v, int64_t correction) {
  double m = mean(v), sq = 0;
  for (double x : v) sq += (x - m) * (x - m);
  double denom = double(int64_t(v.size()) - correction);
  return denom > 0 ? sq / denom : std::numeric_limits<double>::quiet_NaN();
}
double norm(const std::vector<double>& v, double p) {
  double acc = 0;
  for (double x : v)
    if (std::isnan(x)) return x;
  for (double x : v)
    acc = std::isinf(p) ? std::max(acc, std::fabs(x)) : acc + std::pow(std::fabs(x), p);
  return std::isinf(p) ? acc : std::pow(acc, 1.0 / p);
}

Host along(const Host& t, int64_t dim,
           const std::function<std::vector<double>(const std::vector<double>&)>& f) {
  if (t.shape.size() == 0) {
    std::vector<double> line = f(t.v);
    return Host{{}, line};
  }
  int d = wrap(dim, t.shape.size());
  Host out = t;
  Dims outer = t.shape;
  outer[d] = 1;
  for_each_index(outer, [&](const Index& base) {
    Index idx = base;
    std::vector<double> line;
    for (idx[d] = 0; idx[d] < t.shape[d]; ++idx[d]) line.push_back(at(t, idx));
    std::vector<double> result = f(line);
    for (idx[d] = 0; idx[d] < t.shape[d]; ++idx[d]) out.v[flat(t.shape, idx)] = result[idx[d]];
  });
  return out;
}

std::vector<double> softmax(const std::vector<double>& v) {
  std::vector<double> out = log_softmax(v);
  for (double& x : out) x = std::exp(x);
  return out;
}
std::vector<double> log_softmax(const std::vector<double>& v) {
  double m = -std::numeric_limits<double>::infinity(), s = 0;
  for (double x : v) m = std::max(m, x);
  for (double x : v) s += std::exp(x - m);
  std::vector<double> out;
  for (double x : v) out.push_back(x - m - std::log(s));
  return out;
}

Host matmul(const Host& a, const Host& b) {
  Host x = a.shape.size() == 1 ? unsqueeze(a, 0) : a;
  Host y = b.shape.size() == 1 ? unsqueeze(b, 1) : b;
  int nx = x.shape.size(), ny = y.shape.size();
  int64_t m = x.shape[nx - 2], k = x.shape[nx - 1], n = y.shape[ny - 1];
  require(y.shape[ny - 2] == k, "matmul inner dims");
  Dims bx, by;
  for (int d = 0; d < nx - 2; ++d) bx.push_back(x.shape[d]);
  for (int d = 0; d < ny - 2; ++d) by.push_back(y.shape[d]);
  Dims batch = broadcast(bx, by), shape = batch;
  shape.push_back(m);
  shape.push_back(n);
  Host out = build(shape, [&](const Index& idx) {
    int nb = batch.size();
    Index ix(idx.begin(), idx.begin() + nb), iy = ix;
    ix.push_back(idx[nb]);
    ix.push_back(0);
    iy.push_back(0);
    iy.push_back(idx[nb + 1]);
    Dims sx = batch, sy = batch;
    sx.push_back(m), sx.push_back(k), sy.push_back(k), sy.push_back(n);
    double acc = 0;
    for (int64_t p = 0; p < k; ++p) {
      ix[nb + 1] = p, iy[nb] = p;
      acc += at_broadcast(x, sx, ix) * at_broadcast(y, sy, iy);
    }
    return acc;
  });
  Dims final_shape = batch;
  if (a.shape.size() > 1) final_shape.push_back(m);
  if (b.shape.size() > 1) final_shape.push_back(n);
  out.shape = final_shape;
  return out;
}

Host reshape(const Host& t, const Dims& shape) {
  Dims s = shape;
  int64_t known = 1;
  for (int64_t x : s) known *= x == -1 ? 1 : x;
  for (int64_t& x : s) x = x == -1 ? t.numel() / known : x;
  require(numel_of(s) == t.numel(), "reshape numel");
  return Host{s, t.v};
}

Host permute(const Host& t, const Dims& dims) {
  int n = t.shape.size();
  Dims shape;
  for (int64_t d : dims) shape.push_back(t.shape[wrap(d, n)]);
  return build(shape, [&](const Index& idx) {
    Index src(n);
    for (int i = 0; i < n; ++i) src[wrap(dims[i], n)] = idx[i];
    return at(t, src);
  });
}

Host transpose(const Host& t, int64_t d0, int64_t d1) {
  int n = t.shape.size();
  if (n == 0) return t;
  Dims dims;
  for (int i = 0; i < n; ++i) dims.push_back(i);
  std::swap(dims[wrap(d0, n)], dims[wrap(d1, n)]);
  return permute(t, dims);
}

Host slice(const Host& t, int64_t dim, int64_t start, int64_t end, int64_t step) {
  int d = wrap(dim, t.shape.size());
  Dims shape = t.shape;
  shape[d] = end > start ? (end - start + step - 1) / step : 0;
  return build(shape, [&](const Index& idx) {
    Index src = idx;
    src[d] = start + idx[d] * step;
    return at(t, src);
  });
}

Host select(const Host& t, int64_t dim, int64_t index) {
  int d = wrap(dim, t.shape.size());
  if (index < 0) index += t.shape[d];
  Dims shape = t.shape;
  shape.erase(d);
  return build(shape, [&](const Index& idx) {
    Index src = idx;
    src.insert(src.begin() + d, index);
    return at(t, src);
  });
}

Host expand(const Host& t, const Dims& shape) {
  Dims s = shape;
  int lead = s.size() - t.shape.size();
  for (int i = lead; i < s.size(); ++i) s[i] = s[i] == -1 ? t.shape[i - lead] : s[i];
  return build(s, [&](const Index& idx) { return at_broadcast(t, s, idx); });
}

Host unsqueeze(const Host& t, int64_t dim) {
  int d = wrap(dim, t.shape.size() + 1);
  Dims shape = t.shape;
  shape.insert(d, 1);
  return Host{shape, t.v};
}

Host cat(const std::vector<Host>& parts, int64_t dim) {
  int d = wrap(dim, parts[0].shape.size());
  Dims shape = parts[0].shape;
  shape[d] = 0;
  for (const Host& p : parts) shape[d] += p.shape[d];
  return build(shape, [&](const Index& idx) {
    Index src = idx;
    for (const Host& p : parts) {
      if (src[d] < p.shape[d]) return at(p, src);
      src[d] -= p.shape[d];
    }
    require(false, "cat index");
    return 0.0;
  });
}

Host index_select(const Host& t, int64_t dim, const Host& index) {
  Host src = t.shape.size() == 0 ? Host{{1}, t.v} : t;
  int d = wrap(dim, src.shape.size());
  Dims shape = src.shape;
  shape[d] = index.numel();
  Host out = build(shape, [&](const Index& idx) {
    Index s = idx;
    int64_t i = int64_t(index.v[idx[d]]);
    s[d] = i < 0 ? i + src.shape[d] : i;
    return at(src, s);
  });
  if (t.shape.size() == 0) out.shape = Dims{};
  return out;
}

Host gather(const Host& t, int64_t dim, const Host& index) {
  int d = wrap(dim, t.shape.size());
  return build(index.shape, [&](const Index& idx) {
    Index s = idx;
    int64_t i = int64_t(at(index, idx));
    s[d] = i < 0 ? i + t.shape[d] : i;
    return at(t, s);
  });
}

Host scatter_add(const Host& t, int64_t dim, const Host& index, const Host& src) {
  int d = wrap(dim, t.shape.size());
  Host out = t;
  for_each_index(index.shape, [&](const Index& idx) {
    Index dst = idx;
    int64_t i = int64_t(at(index, idx));
    dst[d] = i < 0 ? i + t.shape[d] : i;
    out.v[flat(t.shape, dst)] += at(src, idx);
  });
  return out;
}

Host pad(const Host& t, const std::vector<int64_t>& pads, double value) {
  int n = t.shape.size();
  Dims shape = t.shape;
  std::vector<int64_t> before(n, 0);
  for (size_t p = 0; p < pads.size() / 2; ++p) {
    int d = n - 1 - int(p);
    before[d] = pads[2 * p];
    shape[d] += pads[2 * p] + pads[2 * p + 1];
  }
  return build(shape, [&](const Index& idx) {
    Index src(n);
    for (int d = 0; d < n; ++d) {
      src[d] = idx[d] - before[d];
      if (src[d] < 0 || src[d] >= t.shape[d]) return value;
    }
    return at(t, src);
  });
}

Host repeat(const Host& t, const Dims& repeats) {
  int lead = repeats.size() - t.shape.size();
  Dims shape = repeats;
  for (int i = lead; i < repeats.size(); ++i) shape[i] = repeats[i] * t.shape[i - lead];
  return build(shape, [&](const Index& idx) {
    Index src(t.shape.size());
    for (int d = 0; d < t.shape.size(); ++d) src[d] = idx[d + lead] % t.shape[d];
    return at(t, src);
  });
}

}  // namespace trip::optest::ref
