#include "tensor/cuda/nvcc_fmt.h"

// defines: CudaBackend (the Backend of tensor/backend.h for cuda:N devices, forwarding to the
// launchers of tensor/cuda/kernels.h), cuda_backend(), cuda_available(), cuda_device_count() and
// cuda_synchronize().
#include <cuda_runtime.h>

#include <string>

#include "tensor/backend.h"
#include "tensor/cuda/allocator.h"
#include "tensor/cuda/check.h"
#include "tensor/cuda/kernels.h"
#include "tensor/cuda/launch.h"
#include "tensor/cuda_memory.h"

namespace trip {
namespace {

// Asked once: a machine without a driver or GPU must be able to run every CPU path, so nothing
// here throws or prints; the reason is kept for cuda_backend()'s error.
struct Availability {
  int devices = 0;
  std::string reason;
};

const Availability& availability() {
  static const Availability result = [] {
    Availability a;
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
      (void)cudaGetLastError();
      a.reason = cudaGetErrorString(err);
    } else if (count == 0) {
      a.reason = "no CUDA device found";
    } else {
      a.devices = count;
    }
    return a;
  }();
  return result;
}

class CudaBackend final : public Backend {
 public:
  void* allocate(size_t nbytes, Device device) override {
    TRIP_CHECK(device.is_cuda() && device.index >= 0 && device.index < cuda_device_count(),
               "cuda: cannot allocate on {}: this machine has {} CUDA device(s)", device,
               cuda_device_count());
    void* ptr = gpu::CachingAllocator::instance().allocate(nbytes, device.index);
    if (ptr && poison_allocations()) {  // all-ones bytes (NaN for floats), as the CPU does
      gpu::DeviceGuard guard(device.index);
      TRIP_CUDA_CHECK(cudaMemsetAsync(ptr, 0xff, nbytes, 0));
    }
    return ptr;
  }
  void deallocate(void* ptr, size_t, Device) override {
    gpu::CachingAllocator::instance().deallocate(ptr);
  }
  void copy(const Tensor& src, const Tensor& dst) override { gpu::copy(src, dst); }
  void transfer(const Tensor& src, const Tensor& dst) override { gpu::transfer(src, dst); }
  void fill(const Tensor& dst, double value) override { gpu::fill(dst, value); }
  void unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryParams p) override {
    gpu::unary(op, x, out, p);
  }
  void unary_backward(UnaryOp op, const Tensor& x, const Tensor& grad_out, const Tensor& grad_x,
                      UnaryParams p) override {
    gpu::unary_backward(op, x, grad_out, grad_x, p);
  }
  void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) override {
    gpu::binary(op, a, b, out);
  }
  void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) override {
    gpu::where(cond, a, b, out);
  }
  void reduce(ReduceOp op, const Tensor& in, const Tensor& out, ReduceGeometry g) override {
    gpu::reduce(op, in, out, g);
  }
  void arg_reduce(bool is_max, const Tensor& in, const Tensor& values, const Tensor& indices,
                  ReduceGeometry g) override {
    gpu::arg_reduce(is_max, in, values, indices, g);
  }
  void softmax(const Tensor& in, const Tensor& out, ReduceGeometry g, bool log) override {
    gpu::softmax(in, out, g, log);
  }
  void matmul(const Tensor& a, const Tensor& b, const Tensor& out) override {
    gpu::matmul(a, b, out);
  }
  void random(RandomKind kind, const Tensor& out, uint64_t seed, uint64_t offset, double a,
              double b) override {
    gpu::random(kind, out, seed, offset, a, b);
  }
  void index_select(const Tensor& in, int dim, const Tensor& index, const Tensor& out) override {
    gpu::index_select(in, dim, index, out);
  }
  void gather(const Tensor& in, int dim, const Tensor& index, const Tensor& out) override {
    gpu::gather(in, dim, index, out);
  }
  void scatter_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src) override {
    gpu::scatter_add(out, dim, index, src);
  }

  void conv_forward(const Tensor& input, const Tensor& weight, const Tensor& bias,
                    const Tensor& out, const ConvParams& p) override {
    gpu::conv_forward(input, weight, bias, out, p);
  }
  void conv_backward(const Tensor& grad_out, const Tensor& input, const Tensor& weight,
                     const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias,
                     const ConvParams& p) override {
    gpu::conv_backward(grad_out, input, weight, grad_input, grad_weight, grad_bias, p);
  }
  void group_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t groups,
                          double eps, bool silu, const Tensor& out, const Tensor& mean,
                          const Tensor& rstd) override {
    gpu::group_norm_forward(x, weight, bias, groups, eps, silu, out, mean, rstd);
  }
  void group_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                           const Tensor& bias, const Tensor& mean, const Tensor& rstd,
                           int64_t groups, bool silu, const Tensor& grad_x,
                           const Tensor& grad_weight, const Tensor& grad_bias) override {
    gpu::group_norm_backward(grad_out, x, weight, bias, mean, rstd, groups, silu, grad_x,
                             grad_weight, grad_bias);
  }
  void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                          const Tensor& scale, const Tensor& shift, double eps, const Tensor& out,
                          const Tensor& mean, const Tensor& rstd) override {
    gpu::layer_norm_forward(x, weight, bias, scale, shift, eps, out, mean, rstd);
  }
  void layer_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                           const Tensor& bias, const Tensor& scale, const Tensor& shift,
                           const Tensor& mean, const Tensor& rstd, const Tensor& grad_x,
                           const Tensor& grad_weight, const Tensor& grad_bias,
                           const Tensor& grad_scale, const Tensor& grad_shift) override {
    gpu::layer_norm_backward(grad_out, x, weight, bias, scale, shift, mean, rstd, grad_x,
                             grad_weight, grad_bias, grad_scale, grad_shift);
  }
  void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, double scale,
                         const Tensor& out, const Tensor& lse) override {
    if (gpu::cudnn_attention_forward(q, k, v, scale, out, lse)) return;
    gpu::attention_forward(q, k, v, scale, out, lse);
  }
  void attention_backward(const Tensor& grad_out, const Tensor& q, const Tensor& k, const Tensor& v,
                          const Tensor& out, const Tensor& lse, double scale, const Tensor& grad_q,
                          const Tensor& grad_k, const Tensor& grad_v) override {
    if (gpu::cudnn_attention_backward(grad_out, q, k, v, out, lse, scale, grad_q, grad_k, grad_v)) {
      return;
    }
    gpu::attention_backward(grad_out, q, k, v, out, lse, scale, grad_q, grad_k, grad_v);
  }
  void adamw_step(const std::vector<AdamWTensors>& params) override { gpu::adamw_step(params); }
};

}  // namespace

bool cuda_available() { return availability().devices > 0; }

int cuda_device_count() { return availability().devices; }

Backend& cuda_backend() {
  const Availability& a = availability();
  if (a.devices == 0) fail("CUDA: no usable device ({}); use the cpu device", a.reason);
  static CudaBackend* instance = new CudaBackend();  // never destroyed: frees at exit still work
  return *instance;
}

void cuda_synchronize() {
  for (int device = 0; device < cuda_device_count(); ++device) {
    gpu::DeviceGuard guard(device);
    TRIP_CUDA_CHECK(cudaDeviceSynchronize());
  }
}

}  // namespace trip
