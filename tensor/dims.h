// defines: Dims, a fixed-capacity vector of up to kMaxDims int64 values used for shapes and
// strides (no heap allocation per tensor), and the shape helpers every op needs.
#pragma once
#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "tensor/error.h"

namespace trip {

inline constexpr int kMaxDims = 8;

class Dims {
 public:
  Dims() = default;
  Dims(std::initializer_list<int64_t> values) { assign(values.begin(), values.end()); }
  explicit Dims(const std::vector<int64_t>& values) { assign(values.begin(), values.end()); }
  static Dims filled(int n, int64_t value) {
    Dims d;
    for (int i = 0; i < n; ++i) d.push_back(value);
    return d;
  }

  int size() const { return n_; }
  bool empty() const { return n_ == 0; }
  int64_t& operator[](int i) { return v_[i]; }
  int64_t operator[](int i) const { return v_[i]; }
  int64_t* begin() { return v_.data(); }
  int64_t* end() { return v_.data() + n_; }
  const int64_t* begin() const { return v_.data(); }
  const int64_t* end() const { return v_.data() + n_; }
  const int64_t* data() const { return v_.data(); }
  int64_t back() const { return v_[n_ - 1]; }

  void push_back(int64_t x) {
    TRIP_CHECK(n_ < kMaxDims, "tensors have at most {} dims", kMaxDims);
    v_[n_++] = x;
  }
  void insert(int pos, int64_t x);
  void erase(int pos);
  void resize(int n, int64_t fill = 0);
  std::vector<int64_t> vec() const { return std::vector<int64_t>(begin(), end()); }

  friend bool operator==(const Dims& a, const Dims& b) {
    if (a.n_ != b.n_) return false;
    for (int i = 0; i < a.n_; ++i)
      if (a.v_[i] != b.v_[i]) return false;
    return true;
  }

 private:
  template <typename It>
  void assign(It first, It last) {
    for (; first != last; ++first) push_back(*first);
  }
  std::array<int64_t, kMaxDims> v_{};
  int n_ = 0;
};

// Product of the extents (1 for a 0-d shape).
int64_t numel_of(const Dims& shape);
// Row-major strides of a contiguous tensor of this shape.
Dims contiguous_strides(const Dims& shape);
// NumPy broadcasting of two shapes; the error names `op` and both shapes.
Dims broadcast_shapes(const Dims& a, const Dims& b, const char* op);
// Wraps a possibly negative dim into [0, ndim); the error names `op`.
int wrap_dim(int64_t dim, int ndim, const char* op);
std::string to_string(const Dims& d);

}  // namespace trip

template <>
struct fmt::formatter<trip::Dims> : fmt::formatter<std::string> {
  auto format(const trip::Dims& d, format_context& ctx) const {
    return fmt::formatter<std::string>::format(trip::to_string(d), ctx);
  }
};
