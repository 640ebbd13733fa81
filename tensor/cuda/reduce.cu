#include "tensor/cuda/nvcc_fmt.h"

// defines: reduce (sum, mean, max, min, prod) and arg_reduce (max/min with the index of the first
// extreme) over the middle axis of [outer, reduced, inner]; deterministic (tensor/cuda/reduce.cuh).
#include <cmath>
#include <cstdint>

#include "tensor/convert.h"
#include "tensor/cuda/kernels.h"
#include "tensor/cuda/reduce.cuh"
#include "tensor/dtype.h"
#include "tensor/elementwise_math.h"

namespace trip::gpu {
namespace {

// Accumulates in acc_t<T> (float for f32 and the 16-bit floats, double for f64, int64 for
// integers and bool); max/min propagate NaN like the elementwise maximum/minimum.
template <ReduceOp Op, typename T, typename Out>
struct ReducePolicy {
  using State = acc_t<T>;
  const T* in;
  Out* out;
  int64_t reduced;

  __device__ State init() const {
    if constexpr (Op == ReduceOp::prod) return State(1);
    if constexpr (Op == ReduceOp::max || Op == ReduceOp::min) {
      constexpr bool kMax = Op == ReduceOp::max;
      if constexpr (std::is_floating_point_v<State>)
        return kMax ? -State(INFINITY) : State(INFINITY);
      if constexpr (!std::is_floating_point_v<State>) return kMax ? INT64_MIN : INT64_MAX;
    }
    return State(0);  // sum, mean
  }
  __device__ State load(int64_t offset, int64_t) const { return convert<State>(in[offset]); }
  __device__ State merge(State a, State b) const {
    if constexpr (Op == ReduceOp::prod) return a * b;
    if constexpr (Op == ReduceOp::max) return math::binary<BinaryOp::maximum, State>(a, b);
    if constexpr (Op == ReduceOp::min) return math::binary<BinaryOp::minimum, State>(a, b);
    return a + b;  // sum, mean
  }
  __device__ void store(int64_t offset, State s) const {
    if constexpr (Op == ReduceOp::mean) {
      if (reduced > 0 || std::is_floating_point_v<State>) s = s / State(reduced);  // 0/0 is NaN
    }
    out[offset] = convert<Out>(s);
  }
};

// Compares in the compute type (exact for the 16-bit floats). NaN beats every number; among equal
// values (or NaNs) the smaller index wins, so the result is the first extreme (PyTorch).
template <bool IsMax, typename T>
struct ArgPolicy {
  using V = typename dtype_traits<dtype_of<T>()>::compute;
  struct State {
    V value;
    int64_t index;  // -1: no element seen yet
  };
  const T* in;
  T* values;
  int64_t* indices;

  __device__ State init() const { return State{V(0), -1}; }
  __device__ State load(int64_t offset, int64_t r) const {
    return State{convert<V>(in[offset]), r};
  }
  __device__ State merge(State a, State b) const {
    if (b.index < 0) return a;
    if (a.index < 0) return b;
    bool a_nan = a.value != a.value, b_nan = b.value != b.value;
    bool take_b;
    if (a_nan || b_nan) {
      take_b = (a_nan && b_nan) ? b.index < a.index : b_nan;
    } else if (a.value == b.value) {
      take_b = b.index < a.index;
    } else {
      take_b = IsMax ? b.value > a.value : b.value < a.value;
    }
    return take_b ? b : a;
  }
  __device__ void store(int64_t offset, State s) const {
    values[offset] = convert<T>(s.value);
    indices[offset] = s.index;
  }
};

void check_geometry(const char* op, const Tensor& in, const Tensor& out, ReduceGeometry g) {
  TRIP_CHECK(in.is_contiguous() && out.is_contiguous() &&
                 in.numel() == g.outer * g.reduced * g.inner && out.numel() == g.outer * g.inner,
             "{} (cuda): in {} and out {} must be contiguous with {}x{}x{} and {}x{} elements", op,
             in.shape(), out.shape(), g.outer, g.reduced, g.inner, g.outer, g.inner);
}

template <typename T, typename Out>
void launch_reduce_op(ReduceOp op, const Tensor& in, const Tensor& out, ReduceGeometry g) {
  const T* pin = static_cast<const T*>(in.data_ptr());
  Out* pout = static_cast<Out*>(out.data_ptr());
  auto run = [&](auto op_constant) {
    ReducePolicy<decltype(op_constant)::value, T, Out> p{pin, pout, g.reduced};
    launch_reduce(p, g.outer, g.reduced, g.inner);
  };
  switch (op) {
    case ReduceOp::sum:
      return run(std::integral_constant<ReduceOp, ReduceOp::sum>{});
    case ReduceOp::mean:
      return run(std::integral_constant<ReduceOp, ReduceOp::mean>{});
    case ReduceOp::max:
      return run(std::integral_constant<ReduceOp, ReduceOp::max>{});
    case ReduceOp::min:
      return run(std::integral_constant<ReduceOp, ReduceOp::min>{});
    case ReduceOp::prod:
      return run(std::integral_constant<ReduceOp, ReduceOp::prod>{});
  }
  fail("reduce (cuda): invalid op {}", int(op));
}

}  // namespace

void reduce(ReduceOp op, const Tensor& in, const Tensor& out, ReduceGeometry g) {
  check_geometry(op_name(op), in, out, g);
  if (out.numel() == 0) return;
  DeviceGuard guard(out);
  dispatch_dtype(in.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (out.dtype() == in.dtype()) {
      launch_reduce_op<T, T>(op, in, out, g);
    } else if (is_integral(in.dtype()) && out.dtype() == DType::i64) {
      if constexpr (is_integral(decltype(tag)::value)) launch_reduce_op<T, int64_t>(op, in, out, g);
    } else {
      fail(
          "{} (cuda): input {} with output {}: the output must have the input's dtype, or i64 "
          "for integer input",
          op_name(op), in.dtype(), out.dtype());
    }
  });
}

void arg_reduce(bool is_max, const Tensor& in, const Tensor& values, const Tensor& indices,
                ReduceGeometry g) {
  const char* name = is_max ? "argmax" : "argmin";
  check_geometry(name, in, values, g);
  check_geometry(name, in, indices, g);
  TRIP_CHECK(values.dtype() == in.dtype() && indices.dtype() == DType::i64,
             "{} (cuda): values {} must have the input's dtype {}, indices ({}) must be i64", name,
             values.dtype(), in.dtype(), indices.dtype());
  if (values.numel() == 0) return;
  DeviceGuard guard(in);
  dispatch_dtype(in.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pin = static_cast<const T*>(in.data_ptr());
    T* pvalues = static_cast<T*>(values.data_ptr());
    int64_t* pindices = static_cast<int64_t*>(indices.data_ptr());
    if (is_max) {
      launch_reduce(ArgPolicy<true, T>{pin, pvalues, pindices}, g.outer, g.reduced, g.inner);
    } else {
      launch_reduce(ArgPolicy<false, T>{pin, pvalues, pindices}, g.outer, g.reduced, g.inner);
    }
  });
}

}  // namespace trip::gpu
