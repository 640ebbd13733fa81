// CPU softmax / log-softmax along the middle axis of [outer, reduced, inner]: max-subtracted for
// stability; rows of f32 use the vectorisable exp of vec_math.h, other dtypes compute in double.
#include <cmath>
#include <limits>
#include <vector>

#include "tensor/cpu/kernels.h"
#include "tensor/cpu/parallel.h"
#include "tensor/cpu/vec_math.h"

namespace trip::cpu {

namespace {

// One contiguous row of f32, the hot case (attention scores). NaN or +inf anywhere in the row
// makes every output NaN through the arithmetic itself (as in PyTorch), so there is no special
// case to test for.
void softmax_row_f32(const float* x, float* y, int64_t n, bool log) {
  float m = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
  if (m == -std::numeric_limits<float>::infinity()) m = 0;  // all -inf: keep exp finite
  float sum = 0;
  if (log) {
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < n; ++i) sum += exp_approx(x[i] - m);
    float lse = m + std::log(sum);
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] - lse;
  } else {
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < n; ++i) {
      float e = exp_approx(x[i] - m);
      y[i] = e;
      sum += e;
    }
    float inv = 1.0f / sum;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] *= inv;
  }
}

// Any dtype, any inner stride: computes in double. NaN or +inf inputs give NaN rows through
// plain IEEE arithmetic, as in PyTorch.
template <typename T>
void softmax_strided(const T* x, T* y, int64_t n, int64_t stride, bool log) {
  auto value = [&](int64_t r) { return double(x[r * stride]); };
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t r = 0; r < n; ++r) m = (value(r) > m || value(r) != value(r)) ? value(r) : m;
  if (std::isinf(m) && m < 0) m = 0;  // an all -inf row: keep exp finite
  double sum = 0;
  for (int64_t r = 0; r < n; ++r) sum += std::exp(value(r) - m);
  double lse = m + std::log(sum);
  for (int64_t r = 0; r < n; ++r) {
    y[r * stride] = T(log ? value(r) - lse : std::exp(value(r) - lse));
  }
}

}  // namespace

void softmax(const Tensor& in, const Tensor& out, ReduceGeometry g, bool log) {
  dispatch_floating(in.dtype(), "softmax", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* x = static_cast<const T*>(in.data_ptr());
    T* y = static_cast<T*>(out.data_ptr());
    int64_t R = g.reduced, I = g.inner;
    int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(R, 1));
    parallel_for(g.outer * I, grain, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        int64_t o = p / I, i = p % I;
        const T* xr = x + o * R * I + i;
        T* yr = y + o * R * I + i;
        if constexpr (std::is_same_v<T, float>) {
          if (I == 1) {
            softmax_row_f32(xr, yr, R, log);
            continue;
          }
        }
        softmax_strided<T>(xr, yr, R, I, log);
      }
    });
  });
}

}  // namespace trip::cpu
