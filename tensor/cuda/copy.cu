#include "tensor/cuda/nvcc_fmt.h"

// defines: copy (strided, converting between any two dtypes), copy_strided on raw pointers,
// transfer between host and device (or two devices), and fill.
#include <cuda_runtime.h>

#include "tensor/convert.h"
#include "tensor/cuda/elementwise.cuh"
#include "tensor/cuda/kernels.h"
#include "tensor/cuda/launch.h"
#include "tensor/dtype.h"

namespace trip::gpu {
namespace {

template <typename From, typename To>
struct CopyFn {
  const From* src;
  To* dst;
  __device__ void operator()(const int64_t* off) const { dst[off[1]] = convert<To>(src[off[0]]); }
};

template <typename T>
struct FillFn {
  T* dst;
  T value;
  __device__ void operator()(const int64_t* off) const { dst[off[0]] = value; }
};

bool is_dense(const Dims& shape, const Dims& strides) {
  return strides == contiguous_strides(shape);
}

}  // namespace

void copy_strided(DType src_dtype, const void* src, const Dims& src_strides, DType dst_dtype,
                  void* dst, const Dims& dst_strides, const Dims& shape) {
  int64_t n = numel_of(shape);
  if (n == 0) return;
  if (src_dtype == dst_dtype && is_dense(shape, src_strides) && is_dense(shape, dst_strides)) {
    TRIP_CUDA_CHECK(cudaMemcpyAsync(dst, src, size_t(n) * element_size(src_dtype),
                                    cudaMemcpyDeviceToDevice, 0));
    return;
  }
  dispatch_dtype(src_dtype, [&](auto src_tag) {
    using From = typename decltype(src_tag)::type;
    dispatch_dtype(dst_dtype, [&](auto dst_tag) {
      using To = typename decltype(dst_tag)::type;
      CopyFn<From, To> fn{static_cast<const From*>(src), static_cast<To*>(dst)};
      launch_elementwise<2>(shape, {&src_strides, &dst_strides}, fn);
    });
  });
}

void copy(const Tensor& src, const Tensor& dst) {
  TRIP_CHECK(src.shape() == dst.shape(), "copy (cuda): shapes {} and {} differ", src.shape(),
             dst.shape());
  TRIP_CHECK(src.device() == dst.device(), "copy (cuda): tensors on {} and {}; use transfer",
             src.device(), dst.device());
  if (dst.numel() == 0) return;
  DeviceGuard guard(dst);
  copy_strided(src.dtype(), src.data_ptr(), src.strides(), dst.dtype(), dst.data_ptr(),
               dst.strides(), dst.shape());
}

void transfer(const Tensor& src, const Tensor& dst) {
  TRIP_CHECK(src.dtype() == dst.dtype() && src.nbytes() == dst.nbytes(),
             "transfer (cuda): {} {} to {} {}: dtype and size must match", src.dtype(), src.shape(),
             dst.dtype(), dst.shape());
  TRIP_CHECK(src.is_contiguous() && dst.is_contiguous(),
             "transfer (cuda): both tensors must be contiguous");
  if (src.nbytes() == 0) return;
  Device from = src.device(), to = dst.device();
  TRIP_CHECK(from.is_cuda() || to.is_cuda(), "transfer (cuda): {} to {} involves no CUDA device",
             from, to);
  // Each device's legacy default stream orders a copy after the kernels queued on that device
  // before it, and a copy to the host returns only when the data has arrived.
  if (from.is_cuda() && to.is_cuda() && from.index != to.index) {
    // cudaMemcpyPeer is serialised with all pending and future work on both devices (CUDA
    // runtime documentation), so no extra synchronisation is needed.
    DeviceGuard guard(to.index);
    TRIP_CUDA_CHECK(
        cudaMemcpyPeer(dst.data_ptr(), to.index, src.data_ptr(), from.index, src.nbytes()));
    return;
  }
  cudaMemcpyKind kind = from.is_cpu() ? cudaMemcpyHostToDevice
                        : to.is_cpu() ? cudaMemcpyDeviceToHost
                                      : cudaMemcpyDeviceToDevice;
  DeviceGuard guard(to.is_cuda() ? to.index : from.index);
  TRIP_CUDA_CHECK(cudaMemcpy(dst.data_ptr(), src.data_ptr(), src.nbytes(), kind));
}

void fill(const Tensor& dst, double value) {
  if (dst.numel() == 0) return;
  DeviceGuard guard(dst);
  dispatch_dtype(dst.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    FillFn<T> fn{static_cast<T*>(dst.data_ptr()), convert<T>(value)};
    launch_elementwise<1>(dst.shape(), {&dst.strides()}, fn);
  });
}

}  // namespace trip::gpu
