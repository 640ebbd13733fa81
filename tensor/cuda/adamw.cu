#include "tensor/cuda/nvcc_fmt.h"

// defines: gpu::adamw_step, AdamW for many parameters in one launch per dtype (the multi-tensor
// apply of NVIDIA apex, with the table in device memory instead of kernel arguments, so any number
// of tensors fits). The host cuts every parameter into chunks of kChunk elements; block b updates
// chunk b, looking up its parameter's pointers and scalars in the table. The per-element formula
// is adamw_element() of tensor/adamw.h, the one the CPU loop runs, so both give the same bits.
#include <cstring>
#include <vector>

#include "tensor/adamw.h"
#include "tensor/cuda/allocator.h"
#include "tensor/cuda/kernels.h"
#include "tensor/cuda/launch.h"

namespace trip::gpu {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kChunk = 16 * 1024;  // elements per block: 64 per thread

struct Param {  // one parameter, as the kernel sees it
  void* p;
  const void* g;
  void* m;
  void* v;
  int64_t numel;
  AdamWCoefficients c;
};

struct Task {  // one block's chunk
  int64_t param, begin;
};

template <typename T>
__global__ void __launch_bounds__(kThreads) adamw_kernel(const Param* params, const Task* tasks) {
  const Task task = tasks[blockIdx.x];
  const Param& prm = params[task.param];
  T* p = static_cast<T*>(prm.p);
  T* m = static_cast<T*>(prm.m);
  T* v = static_cast<T*>(prm.v);
  const T* g = static_cast<const T*>(prm.g);
  const AdamWScalars<T> s(prm.c);
  const int64_t end = task.begin + kChunk < prm.numel ? task.begin + kChunk : prm.numel;
  for (int64_t i = task.begin + threadIdx.x; i < end; i += kThreads) {
    T pi = p[i], mi = m[i], vi = v[i];
    adamw_element(pi, mi, vi, g[i], s);
    p[i] = pi;
    m[i] = mi;
    v[i] = vi;
  }
}

template <typename T>
void launch(const std::vector<const AdamWTensors*>& group, int device) {
  std::vector<Param> params;
  std::vector<Task> tasks;
  for (const AdamWTensors* t : group) {
    const int64_t n = t->p.numel();
    if (n == 0) continue;
    const int64_t index = int64_t(params.size());
    params.push_back({t->p.data_ptr(), t->g.data_ptr(), t->m.data_ptr(), t->v.data_ptr(), n, t->c});
    for (int64_t b = 0; b < n; b += kChunk) tasks.push_back({index, b});
  }
  if (tasks.empty()) return;
  TRIP_CHECK(tasks.size() < (size_t(1) << 31), "adamw_step: {} chunks exceed the grid limit",
             tasks.size());
  // One upload of both tables (Param's size is a multiple of 8, so the tasks stay aligned).
  static_assert(sizeof(Param) % alignof(Task) == 0);
  const size_t params_bytes = params.size() * sizeof(Param);
  const size_t bytes = params_bytes + tasks.size() * sizeof(Task);
  std::vector<unsigned char> host(bytes);
  std::memcpy(host.data(), params.data(), params_bytes);
  std::memcpy(host.data() + params_bytes, tasks.data(), tasks.size() * sizeof(Task));
  DeviceBuffer table(bytes, device);
  // Pageable source: the call returns once `host` has been staged, so it may be freed after; the
  // kernel on the same (default) stream runs after the copy.
  TRIP_CUDA_CHECK(cudaMemcpyAsync(table.get(), host.data(), bytes, cudaMemcpyHostToDevice, 0));
  const auto* dparams = static_cast<const Param*>(table.get());
  const auto* dtasks =
      reinterpret_cast<const Task*>(static_cast<const unsigned char*>(table.get()) + params_bytes);
  adamw_kernel<T><<<unsigned(tasks.size()), kThreads>>>(dparams, dtasks);
  TRIP_CUDA_CHECK_LAUNCH();
  // `table` goes back to the caching allocator now; the next user of the block is queued on the
  // same stream, after this kernel.
}

}  // namespace

void adamw_step(const std::vector<AdamWTensors>& params) {
  if (params.empty()) return;
  DeviceGuard guard(params[0].p);
  std::vector<const AdamWTensors*> f32, f64;
  for (const AdamWTensors& t : params) (t.p.dtype() == DType::f32 ? f32 : f64).push_back(&t);
  launch<float>(f32, params[0].p.device().index);
  launch<double>(f64, params[0].p.device().index);
}

}  // namespace trip::gpu
