// What a build without CUDA links instead of tensor/cuda/: no devices, a clear error from
// cuda_backend(), zero memory statistics, no-op synchronisation, no cuDNN attention runs.
#include "tensor/backend.h"
#include "tensor/cuda_memory.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace trip {

bool cuda_available() { return false; }

int cuda_device_count() { return 0; }

Backend& cuda_backend() {
  throw Error(
      "CUDA: this build has no CUDA support (configure with -Dcuda=enabled and the CUDA "
      "toolkit)");
}

CudaMemoryStats cuda_memory_stats(int) { return {}; }

void cuda_reset_peak_memory_stats(int) {}

void cuda_empty_cache() {}

void cuda_synchronize() {}

int64_t ops::cudnn_attention_runs() { return 0; }

std::string ops::cudnn_attention_self_check() { return "no cuDNN: this build has no CUDA"; }

}  // namespace trip
