// norm kernels on the CUDA: not written yet (issue 3); every entry point says so.
#include "tensor/cuda/nvcc_fmt.h"

#include "tensor/cuda/kernels.h"

namespace trip::gpu {

void group_norm_forward(const Tensor&, const Tensor&, const Tensor&, int64_t, double, bool,
                        const Tensor&, const Tensor&, const Tensor&) {
  fail("not implemented: group_norm_forward on the cuda (issue 3)");
}

void group_norm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                         const Tensor&, int64_t, bool, const Tensor&, const Tensor&,
                         const Tensor&) {
  fail("not implemented: group_norm_backward on the cuda (issue 3)");
}

void layer_norm_forward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                        double, const Tensor&, const Tensor&, const Tensor&) {
  fail("not implemented: layer_norm_forward on the cuda (issue 3)");
}

void layer_norm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                         const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                         const Tensor&, const Tensor&, const Tensor&) {
  fail("not implemented: layer_norm_backward on the cuda (issue 3)");
}

}  // namespace trip::gpu
