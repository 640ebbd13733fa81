// conv kernels on the CPU: not written yet (issue 3); every entry point says so.
#include "tensor/cpu/kernels.h"

namespace trip::cpu {

void conv_forward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const ConvParams&) {
  fail("not implemented: conv_forward on the cpu (issue 3)");
}

void conv_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                   const Tensor&, const ConvParams&) {
  fail("not implemented: conv_backward on the cpu (issue 3)");
}

}  // namespace trip::cpu
