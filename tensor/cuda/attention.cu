// attention kernels on the CUDA: not written yet (issue 3); every entry point says so.
#include "tensor/cuda/nvcc_fmt.h"

#include "tensor/cuda/kernels.h"

namespace trip::gpu {

void attention_forward(const Tensor&, const Tensor&, const Tensor&, double, const Tensor&,
                       const Tensor&) {
  fail("not implemented: attention_forward on the cuda (issue 3)");
}

void attention_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                        const Tensor&, double, const Tensor&, const Tensor&, const Tensor&) {
  fail("not implemented: attention_backward on the cuda (issue 3)");
}

}  // namespace trip::gpu
