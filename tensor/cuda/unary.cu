#include "tensor/cuda/nvcc_fmt.h"

// defines: unary and unary_backward, one kernel per (op, dtype) with the formula of
// tensor/elementwise_math.h inlined, computing in dtype_traits<D>::compute.
#include <type_traits>

#include "tensor/convert.h"
#include "tensor/cuda/elementwise.cuh"
#include "tensor/cuda/kernels.h"
#include "tensor/dtype.h"
#include "tensor/elementwise_math.h"

namespace trip::gpu {
namespace {

template <UnaryOp Op, typename T, typename C>
struct UnaryFn {
  const T* x;
  T* out;
  C a, b;
  __device__ void operator()(const int64_t* off) const {
    out[off[1]] = convert<T>(math::unary<Op, C>(convert<C>(x[off[0]]), a, b));
  }
};

template <UnaryOp Op, typename T, typename C>
struct UnaryGradFn {
  const T* x;
  const T* grad_out;
  T* grad_x;
  C a, b;
  __device__ void operator()(const int64_t* off) const {
    C g = convert<C>(grad_out[off[1]]);
    grad_x[off[2]] = convert<T>(math::unary_grad<Op, C>(convert<C>(x[off[0]]), g, a, b));
  }
};

// Instantiates only the valid (op, dtype) pairs, as the CPU does: forward, every op on the
// floating dtypes and the ops that do not need floating values (neg, abs, relu, square, clamp,
// sign) on i32, i64 and u8; backward, floating dtypes only. The rest raise an Error.
template <bool Backward, typename Fn>
void dispatch_unary_dtype(UnaryOp op, DType dtype, Fn&& fn) {
  math::dispatch_unary(op, [&](auto op_constant) {
    constexpr UnaryOp kOp = decltype(op_constant)::value;
    dispatch_dtype(dtype, [&](auto tag) {
      constexpr DType kDType = decltype(tag)::value;
      if constexpr (is_floating(kDType) ||
                    (!Backward && !math::needs_floating(kOp) && kDType != DType::boolean)) {
        fn(op_constant, tag);
      } else {
        fail("{}{} (cuda): not defined for dtype {}", op_name(kOp), Backward ? " backward" : "",
             kDType);
      }
    });
  });
}

}  // namespace

void unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryParams p) {
  TRIP_CHECK(x.shape() == out.shape() && x.dtype() == out.dtype(),
             "unary {} (cuda): x {} {} and out {} {} must match", op_name(op), x.dtype(), x.shape(),
             out.dtype(), out.shape());
  if (out.numel() == 0) return;
  DeviceGuard guard(out);
  dispatch_unary_dtype<false>(op, x.dtype(), [&](auto op_constant, auto tag) {
    constexpr UnaryOp kOp = decltype(op_constant)::value;
    using T = typename decltype(tag)::type;
    using C = typename decltype(tag)::compute;
    UnaryFn<kOp, T, C> fn{static_cast<const T*>(x.data_ptr()), static_cast<T*>(out.data_ptr()),
                          convert<C>(p.a), convert<C>(p.b)};
    launch_elementwise<2>(out.shape(), {&x.strides(), &out.strides()}, fn);
  });
}

void unary_backward(UnaryOp op, const Tensor& x, const Tensor& grad_out, const Tensor& grad_x,
                    UnaryParams p) {
  TRIP_CHECK(x.shape() == grad_out.shape() && x.shape() == grad_x.shape() &&
                 x.dtype() == grad_out.dtype() && x.dtype() == grad_x.dtype(),
             "unary_backward {} (cuda): x {} {}, grad_out {} {} and grad_x {} {} must match",
             op_name(op), x.dtype(), x.shape(), grad_out.dtype(), grad_out.shape(), grad_x.dtype(),
             grad_x.shape());
  if (grad_x.numel() == 0) return;
  DeviceGuard guard(grad_x);
  dispatch_unary_dtype<true>(op, x.dtype(), [&](auto op_constant, auto tag) {
    constexpr UnaryOp kOp = decltype(op_constant)::value;
    using T = typename decltype(tag)::type;
    using C = typename decltype(tag)::compute;
    UnaryGradFn<kOp, T, C> fn{static_cast<const T*>(x.data_ptr()),
                              static_cast<const T*>(grad_out.data_ptr()),
                              static_cast<T*>(grad_x.data_ptr()), convert<C>(p.a), convert<C>(p.b)};
    launch_elementwise<3>(grad_x.shape(), {&x.strides(), &grad_out.strides(), &grad_x.strides()},
                          fn);
  });
}

}  // namespace trip::gpu
