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
