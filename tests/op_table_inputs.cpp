// Inputs of the op table: reproducible values per (op, case, input), the memory layouts that
// hold them, and the comparison of results with references.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <limits>

#include "tests/op_table.h"

namespace trip::optest {

namespace {

// FNV-1a: a stable seed from the op, case and input, so every run draws the same values.
uint64_t seed_of(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return h;
}

double sentinel(DType dtype) {
  if (is_floating(dtype)) return std::numeric_limits<double>::quiet_NaN();
  return dtype == DType::boolean ? 1.0 : 77.0;
}

std::vector<double> draw_values(const Input& input, DType dtype, const std::vector<double>& kinks,
                                uint64_t seed) {
  ops::Generator gen{seed, 0};
  const Dims& shape = input.shape;
  auto uniform = [&] { return ops::rand(shape, DType::f64, &gen).to_vector<double>(); };
  auto normal = [&] { return ops::randn(shape, DType::f64, &gen).to_vector<double>(); };
  std::vector<double> v;
  if (input.domain == Domain::special && is_floating(dtype)) {
    const double inf = std::numeric_limits<double>::infinity();
    const double cycle[] = {0.0,  -0.0,  1.0,   -1.0,   0.5, -2.5, 1e-4, -1e-30,
                            20.0, -20.0, 100.0, -100.0, 1e4, inf,  -inf, std::nan("")};
    for (int64_t i = 0; i < numel_of(shape); ++i) v.push_back(cycle[i % std::size(cycle)]);
    return v;
  }
  switch (input.domain) {
    case Domain::boolean:
      v = uniform();
      for (double& x : v) x = x < 0.5 ? 1.0 : 0.0;
      return v;
    case Domain::index:
      v = uniform();
      for (double& x : v) x = std::floor(x * double(input.high));
      return v;
    case Domain::positive:
      v = uniform();
      for (double& x : v) x = is_floating(dtype) ? 0.5 + 2.0 * x : 1.0 + std::floor(4.0 * x);
      return v;
    case Domain::normal:
    case Domain::smooth:
    case Domain::special:
      v = normal();
      if (!is_floating(dtype)) {
        for (double& x : v) x = std::clamp(std::round(3.0 * x), -6.0, 6.0);
        return v;
      }
      if (input.domain == Domain::smooth) {
        // Move values near a kink 0.1 further away, so finite differences never straddle it.
        for (double& x : v)
          for (double k : kinks)
            if (std::fabs(x - k) < 0.1) x += x >= k ? 0.1 : -0.1;
      }
      return v;
  }
  return v;
}

}  // namespace

const char* layout_name(Layout layout) {
  switch (layout) {
    case Layout::contiguous:
      return "contiguous";
    case Layout::transposed:
      return "transposed";
    case Layout::strided:
      return "strided";
  }
  return "?";
}

DType input_dtype(const Input& input, DType dtype) {
  if (input.has_fixed) return input.fixed;
  if (input.domain == Domain::boolean) return DType::boolean;
  if (input.domain == Domain::index) return DType::i64;
  return dtype;
}

std::vector<Host> input_values(const OpInfo& op, const Case& c, DType dtype) {
  std::vector<Host> values;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const Input& input = c.inputs[i];
    DType dt = input_dtype(input, dtype);
    uint64_t seed = seed_of(op.name + "/" + c.name + "/" + std::to_string(i));
    std::vector<double> v = draw_values(input, dt, op.kinks, seed);
    // Round to the dtype the op will see, so the reference starts from the same values.
    Host h{input.shape, from_vector(v, input.shape, dt).to_vector<double>()};
    values.push_back(std::move(h));
  }
  return values;
}

Tensor make_tensor(const Host& values, DType dtype, Layout layout, Device device) {
  const Dims& shape = values.shape;
  int n = shape.size();
  TensorOptions options(dtype, device);
  if (layout == Layout::contiguous) return from_vector(values.v, shape, options);
  if (layout == Layout::transposed && n >= 2) {
    // The values of the transposed shape, stored contiguously, then transposed back.
    Dims swapped = shape;
    std::swap(swapped[n - 1], swapped[n - 2]);
    int64_t rows = shape[n - 2], cols = shape[n - 1],
            mats = numel_of(shape) / std::max<int64_t>(rows * cols, 1);
    std::vector<double> data(values.v.size());
    for (int64_t m = 0; m < mats; ++m)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
          data[(m * cols + c) * rows + r] = values.v[(m * rows + r) * cols + c];
    return ops::transpose(from_vector(data, swapped, options), -1, -2);
  }
  // Every other element of a larger buffer, starting at 1; the gaps hold sentinels.
  double fill = sentinel(dtype);
  if (n == 0)
    return ops::select(from_vector(std::vector<double>{fill, values.v[0], fill}, {3}, options), 0,
                       1);
  Dims big = shape;
  int64_t last = shape[n - 1];
  big[n - 1] = 2 * last + 1;
  std::vector<double> data(numel_of(big), fill);
  int64_t rows = last > 0 ? int64_t(values.v.size()) / last : 0;
  for (int64_t row = 0; row < rows; ++row)
    for (int64_t i = 0; i < last; ++i)
      data[row * (2 * last + 1) + 2 * i + 1] = values.v[row * last + i];
  return ops::slice(from_vector(data, big, options), -1, 1, 1 + 2 * last, 2);
}

std::vector<Tensor> make_inputs(const OpInfo&, const Case& c, const std::vector<Host>& values,
                                DType dtype, Layout layout, Device device) {
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    inputs.push_back(make_tensor(values[i], input_dtype(c.inputs[i], dtype), layout, device));
  }
  return inputs;
}

Host to_host(const Tensor& t) { return Host{t.shape(), t.to_vector<double>()}; }

// "%.10g". Messages here are built without fmt: with GCC 12 at -O3 every fmt::format of a
// string argument in this file raised a spurious -Wstringop-overflow inside fmt's parser.
static std::string num(double x) {
  char text[32];
  std::snprintf(text, sizeof text, "%.10g", x);
  return text;
}

static std::string compare_values(const Dims& shape, const std::vector<double>& got,
                                  const std::vector<double>& want, bool exact, Tol tol) {
  std::string report;
  int bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    double g = got[i], w = want[i];
    bool ok;
    if (std::isnan(w) || std::isnan(g))
      ok = std::isnan(w) && std::isnan(g);
    else if (exact || std::isinf(w) || std::isinf(g))
      ok = g == w;
    else
      ok = std::fabs(g - w) <= tol.atol + tol.rtol * std::fabs(w);
    if (ok) continue;
    if (++bad <= 5)
      report += "\n  element " + std::to_string(i) + ": got " + num(g) + ", want " + num(w);
  }
  if (bad == 0) return "";
  return std::to_string(bad) + " of " + std::to_string(want.size()) + " elements of shape " +
         to_string(shape) + " differ (atol " + num(tol.atol) + ", rtol " + num(tol.rtol) +
         "):" + report;
}

// The reference value as the output dtype holds it (rounding, overflow to inf, truncation).
static double round_to(double x, DType dtype) {
  switch (dtype) {
    case DType::f32:
      return double(float(x));
    case DType::bf16:
      return double(float(bf16(float(x))));
    case DType::f16:
      return double(float(f16(float(x))));
    case DType::f64:
      return x;
    case DType::boolean:
      return x != 0 ? 1.0 : 0.0;
    default:
      return std::trunc(x);  // integers: conversion truncates toward zero
  }
}

std::string compare(const Tensor& got, const Host& want, DType expected_dtype, Tol tol) {
  if (got.shape() != want.shape) {
    return "shape " + to_string(got.shape()) + ", want " + to_string(want.shape);
  }
  if (got.dtype() != expected_dtype) {
    return "dtype " + std::string(dtype_name(got.dtype())) + ", want " +
           std::string(dtype_name(expected_dtype));
  }
  std::vector<double> rounded = want.v;
  for (double& x : rounded) x = round_to(x, got.dtype());
  return compare_values(want.shape, got.to_vector<double>(), rounded, !is_floating(got.dtype()),
                        tol);
}

std::string compare_tensors(const Tensor& got, const Tensor& want, Tol tol) {
  if (got.dtype() != want.dtype())
    return "dtype " + std::string(dtype_name(got.dtype())) + ", want " +
           std::string(dtype_name(want.dtype()));
  return compare(got, to_host(want), want.dtype(), tol);
}

}  // namespace trip::optest
