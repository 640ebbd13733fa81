// The CPU Backend: the host allocator (cpu/allocator.cpp) and the kernels of tensor/cpu/.
#include <cstdlib>
#include <cstring>
#include <new>

#include "tensor/cpu/allocator.h"
#include "tensor/cpu/kernels.h"

namespace trip {

namespace {

class CpuBackend final : public Backend {
 public:
  void* allocate(size_t nbytes, Device) override { return cpu::host_allocate(nbytes); }
  void deallocate(void* ptr, size_t, Device) override { cpu::host_deallocate(ptr); }
  void copy(const Tensor& src, const Tensor& dst) override { cpu::copy(src, dst); }
  void transfer(const Tensor& src, const Tensor& dst) override {
    fail("cpu: transfer from {} to {} needs the CUDA backend", src.device(), dst.device());
  }
  void fill(const Tensor& dst, double value) override { cpu::fill(dst, value); }
  void unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryParams p) override {
    cpu::unary(op, x, out, p);
  }
  void unary_backward(UnaryOp op, const Tensor& x, const Tensor& g, const Tensor& gx,
                      UnaryParams p) override {
    cpu::unary_backward(op, x, g, gx, p);
  }
  void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) override {
    cpu::binary(op, a, b, out);
  }
  void where(const Tensor& c, const Tensor& a, const Tensor& b, const Tensor& out) override {
    cpu::where(c, a, b, out);
  }
  void reduce(ReduceOp op, const Tensor& in, const Tensor& out, ReduceGeometry g) override {
    cpu::reduce(op, in, out, g);
  }
  void arg_reduce(bool is_max, const Tensor& in, const Tensor& v, const Tensor& i,
                  ReduceGeometry g) override {
    cpu::arg_reduce(is_max, in, v, i, g);
  }
  void softmax(const Tensor& in, const Tensor& out, ReduceGeometry g, bool log) override {
    cpu::softmax(in, out, g, log);
  }
  void matmul(const Tensor& a, const Tensor& b, const Tensor& out) override {
    cpu::matmul(a, b, out);
  }
  void random(RandomKind kind, const Tensor& out, uint64_t seed, uint64_t offset, double a,
              double b) override {
    cpu::random(kind, out, seed, offset, a, b);
  }
  void index_select(const Tensor& in, int dim, const Tensor& index, const Tensor& out) override {
    cpu::index_select(in, dim, index, out);
  }
  void gather(const Tensor& in, int dim, const Tensor& index, const Tensor& out) override {
    cpu::gather(in, dim, index, out);
  }
  void scatter_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src) override {
    cpu::scatter_add(out, dim, index, src);
  }

  void conv_forward(const Tensor& input, const Tensor& weight, const Tensor& bias,
                    const Tensor& out, const ConvParams& p) override {
    cpu::conv_forward(input, weight, bias, out, p);
  }
  void conv_backward(const Tensor& grad_out, const Tensor& input, const Tensor& weight,
                     const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias,
                     const ConvParams& p) override {
    cpu::conv_backward(grad_out, input, weight, grad_input, grad_weight, grad_bias, p);
  }
  void group_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t groups,
                          double eps, bool silu, const Tensor& out, const Tensor& mean,
                          const Tensor& rstd) override {
    cpu::group_norm_forward(x, weight, bias, groups, eps, silu, out, mean, rstd);
  }
  void group_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                           const Tensor& bias, const Tensor& mean, const Tensor& rstd,
                           int64_t groups, bool silu, const Tensor& grad_x,
                           const Tensor& grad_weight, const Tensor& grad_bias) override {
    cpu::group_norm_backward(grad_out, x, weight, bias, mean, rstd, groups, silu, grad_x,
                             grad_weight, grad_bias);
  }
  void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                          const Tensor& scale, const Tensor& shift, double eps, const Tensor& out,
                          const Tensor& mean, const Tensor& rstd) override {
    cpu::layer_norm_forward(x, weight, bias, scale, shift, eps, out, mean, rstd);
  }
  void layer_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                           const Tensor& bias, const Tensor& scale, const Tensor& shift,
                           const Tensor& mean, const Tensor& rstd, const Tensor& grad_x,
                           const Tensor& grad_weight, const Tensor& grad_bias,
                           const Tensor& grad_scale, const Tensor& grad_shift) override {
    cpu::layer_norm_backward(grad_out, x, weight, bias, scale, shift, mean, rstd, grad_x,
                             grad_weight, grad_bias, grad_scale, grad_shift);
  }
  void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, double scale,
                         const Tensor& out, const Tensor& lse) override {
    cpu::attention_forward(q, k, v, scale, out, lse);
  }
  void attention_backward(const Tensor& grad_out, const Tensor& q, const Tensor& k, const Tensor& v,
                          const Tensor& out, const Tensor& lse, double scale, const Tensor& grad_q,
                          const Tensor& grad_k, const Tensor& grad_v) override {
    cpu::attention_backward(grad_out, q, k, v, out, lse, scale, grad_q, grad_k, grad_v);
  }
  void adamw_step(const std::vector<AdamWTensors>& params) override { cpu::adamw_step(params); }
};

}  // namespace

static bool& poison_flag() {
  static bool on = std::getenv("TRIP_POISON_ALLOCATIONS") != nullptr;
  return on;
}
bool poison_allocations() { return poison_flag(); }
void set_poison_allocations(bool on) { poison_flag() = on; }

Backend& cpu_backend() {
  static CpuBackend instance;
  return instance;
}

Backend& backend(Device device) { return device.is_cpu() ? cpu_backend() : cuda_backend(); }

}  // namespace trip
