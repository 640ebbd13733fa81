#include "tensor/cuda/nvcc_fmt.h"

// defines: the cuDNN attention entry points of a CUDA build without cuDNN (see
// attention_cudnn.cu): they always decline, so our kernels run, and say so once when
// TRIP_ATTENTION=cudnn asked for cuDNN.
#include <fmt/format.h>

#include <cstdio>
#include <mutex>

#include "tensor/cuda/kernels.h"
#include "tensor/ops.h"

namespace trip {

int64_t ops::cudnn_attention_runs() { return 0; }

std::string ops::cudnn_attention_self_check() { return "no cuDNN: this build did not find it"; }

namespace gpu {
namespace {

bool decline() {
  if (ops::attention_backend() == ops::AttentionBackend::cudnn) {
    static std::once_flag once;
    std::call_once(once, [] {
      fmt::print(stderr,
                 "trip: TRIP_ATTENTION=cudnn, but this build has no cuDNN; using our kernel\n");
    });
  }
  return false;
}

}  // namespace

bool cudnn_attention_forward(const Tensor&, const Tensor&, const Tensor&, double, const Tensor&,
                             const Tensor&) {
  return decline();
}

bool cudnn_attention_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                              const Tensor&, const Tensor&, double, const Tensor&, const Tensor&,
                              const Tensor&) {
  return decline();
}

}  // namespace gpu
}  // namespace trip
