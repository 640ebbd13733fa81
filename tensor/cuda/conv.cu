// conv kernels on the CUDA: not written yet (issue 3); every entry point says so.
#include "tensor/cuda/nvcc_fmt.h"

#include "tensor/cuda/kernels.h"

namespace trip::gpu {

void conv_forward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const ConvParams&) {
  fail("not implemented: conv_forward on the cuda (issue 3)");
}

void conv_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                   const Tensor&, const ConvParams&) {
  fail("not implemented: conv_backward on the cuda (issue 3)");
}

}  // namespace trip::gpu
