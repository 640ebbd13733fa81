#include "tensor/cuda/nvcc_fmt.h"

// defines: binary (arithmetic and comparisons, formulas from tensor/elementwise_math.h) and where.
#include "tensor/convert.h"
#include "tensor/cuda/elementwise.cuh"
#include "tensor/cuda/kernels.h"
#include "tensor/dtype.h"
#include "tensor/elementwise_math.h"

namespace trip::gpu {
namespace {

template <BinaryOp Op, typename T, typename C>
struct BinaryFn {
  const T* a;
  const T* b;
  T* out;
  __device__ void operator()(const int64_t* off) const {
    out[off[2]] = convert<T>(math::binary<Op, C>(convert<C>(a[off[0]]), convert<C>(b[off[1]])));
  }
};

template <BinaryOp Op, typename T, typename C>
struct CompareFn {
  const T* a;
  const T* b;
  bool* out;
  __device__ void operator()(const int64_t* off) const {
    out[off[2]] = math::compare<Op, C>(convert<C>(a[off[0]]), convert<C>(b[off[1]]));
  }
};

template <typename T>
struct WhereFn {
  const bool* cond;
  const T* a;
  const T* b;
  T* out;
  __device__ void operator()(const int64_t* off) const {
    out[off[3]] = cond[off[0]] ? a[off[1]] : b[off[2]];
  }
};

// On bool only comparisons, maximum (or) and minimum (and), as on the CPU.
constexpr bool valid_on_bool(BinaryOp op) {
  return is_comparison(op) || op == BinaryOp::maximum || op == BinaryOp::minimum;
}

}  // namespace

void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  DType want = is_comparison(op) ? DType::boolean : a.dtype();
  TRIP_CHECK(a.dtype() == b.dtype() && out.dtype() == want && a.shape() == out.shape() &&
                 b.shape() == out.shape(),
             "binary {} (cuda): a {} {}, b {} {}, out {} {}: expected equal shapes, one dtype "
             "for a and b, and out of dtype {}",
             op_name(op), a.dtype(), a.shape(), b.dtype(), b.shape(), out.dtype(), out.shape(),
             want);
  if (out.numel() == 0) return;
  DeviceGuard guard(out);
  math::dispatch_binary(op, [&](auto op_constant) {
    constexpr BinaryOp kOp = decltype(op_constant)::value;
    dispatch_dtype(a.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      using C = typename decltype(tag)::compute;
      const T* pa = static_cast<const T*>(a.data_ptr());
      const T* pb = static_cast<const T*>(b.data_ptr());
      const std::array<const Dims*, 3> strides{&a.strides(), &b.strides(), &out.strides()};
      if constexpr (decltype(tag)::value == DType::boolean && !valid_on_bool(kOp)) {
        fail("binary (cuda): op {} is not defined for dtype bool", op_name(kOp));
      } else if constexpr (is_comparison(kOp)) {
        CompareFn<kOp, T, C> fn{pa, pb, static_cast<bool*>(out.data_ptr())};
        launch_elementwise<3>(out.shape(), strides, fn);
      } else {
        BinaryFn<kOp, T, C> fn{pa, pb, static_cast<T*>(out.data_ptr())};
        launch_elementwise<3>(out.shape(), strides, fn);
      }
    });
  });
}

void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  TRIP_CHECK(cond.dtype() == DType::boolean && a.dtype() == out.dtype() &&
                 b.dtype() == out.dtype() && cond.shape() == out.shape() &&
                 a.shape() == out.shape() && b.shape() == out.shape(),
             "where (cuda): cond {} {}, a {} {}, b {} {}, out {} {}: expected bool cond, one "
             "dtype for a, b and out, and equal shapes",
             cond.dtype(), cond.shape(), a.dtype(), a.shape(), b.dtype(), b.shape(), out.dtype(),
             out.shape());
  if (out.numel() == 0) return;
  DeviceGuard guard(out);
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    WhereFn<T> fn{static_cast<const bool*>(cond.data_ptr()), static_cast<const T*>(a.data_ptr()),
                  static_cast<const T*>(b.data_ptr()), static_cast<T*>(out.data_ptr())};
    launch_elementwise<4>(out.shape(),
                          {&cond.strides(), &a.strides(), &b.strides(), &out.strides()}, fn);
  });
}

}  // namespace trip::gpu
