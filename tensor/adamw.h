// defines: AdamWCoefficients (the scalars of one parameter's AdamW step), AdamWTensors (one
// parameter's operands for ops::adamw_step_) and adamw_element(), the per-element update shared by
// the CPU fused loop (tensor/cpu/adamw.cpp) and the CUDA multi-tensor kernel
// (tensor/cuda/adamw.cu), so the CPU tests exercise the formula the GPU runs.
#pragma once
#include <cmath>
#include <type_traits>

#include "tensor/macros.h"
#include "tensor/tensor.h"

namespace trip {

// Computed in double once per step (as PyTorch does in Python), cast to the parameter's dtype by
// the kernels (as PyTorch's kernels do). nn/optim/adamw.cpp documents the update.
struct AdamWCoefficients {
  double decay = 1, beta1 = 0, one_minus_beta1 = 1, beta2 = 0, one_minus_beta2 = 1, bc2_sqrt = 1,
         eps = 0, neg_step_size = 0;
};

// One parameter of a multi-tensor step: p, m (exp_avg) and v (exp_avg_sq) are updated in place
// with the gradient g.
struct AdamWTensors {
  Tensor p, g, m, v;
  AdamWCoefficients c;
};

namespace adamw_detail {

// a * b + c rounded once. Written out so that CPU and CUDA round identically: nvcc would contract
// a plain a * b + c into an fma by itself, GCC only where the target has FMA instructions.
template <typename T>
TRIP_HD T fma(T a, T b, T c) {
#if defined(__CUDA_ARCH__)
  if constexpr (std::is_same_v<T, float>) {
    return __fmaf_rn(a, b, c);
  } else {
    return __fma_rn(a, b, c);
  }
#elif defined(__FMA__)
  return std::fma(a, b, c);  // one vfmadd; vectorised in the omp simd loop
#else
  return a * b + c;  // no FMA unit (-Dnative=false): CPU and CUDA may differ in the last bit
#endif
}

}  // namespace adamw_detail

// Scalars in the parameter's type T (float or double).
template <typename T>
struct AdamWScalars {
  T decay, beta1, one_minus_beta1, beta2, one_minus_beta2, bc2_sqrt, eps, neg_step_size;
  TRIP_HD explicit AdamWScalars(const AdamWCoefficients& c)
      : decay(T(c.decay)),
        beta1(T(c.beta1)),
        one_minus_beta1(T(c.one_minus_beta1)),
        beta2(T(c.beta2)),
        one_minus_beta2(T(c.one_minus_beta2)),
        bc2_sqrt(T(c.bc2_sqrt)),
        eps(T(c.eps)),
        neg_step_size(T(c.neg_step_size)) {}
};

// One element: reads p, g, m, v once and writes p, m, v. PyTorch's op order (mul_, add_ with
// alpha, addcmul_, sqrt / bc2_sqrt + eps, addcdiv_), so f64 agrees with PyTorch to rounding. The
// products that feed an addition are explicit fmas and nothing else can be contracted, so CPU
// (with FMA) and CUDA give the same bits: sqrt and division are correctly rounded on both (nvcc
// without --use_fast_math).
template <typename T>
TRIP_HD void adamw_element(T& p, T& m, T& v, T g, const AdamWScalars<T>& s) {
  using adamw_detail::fma;
  const T mi = fma(m, s.beta1, s.one_minus_beta1 * g);
  const T vi = fma(v, s.beta2, (s.one_minus_beta2 * g) * g);
  const T denom = std::sqrt(vi) / s.bc2_sqrt + s.eps;
  m = mi;
  v = vi;
  p = fma(p, s.decay, s.neg_step_size * (mi / denom));
}

}  // namespace trip
