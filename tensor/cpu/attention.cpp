// attention kernels on the CPU: not written yet (issue 3); every entry point says so.
#include "tensor/cpu/kernels.h"

namespace trip::cpu {

void attention_forward(const Tensor&, const Tensor&, const Tensor&, double, const Tensor&,
                       const Tensor&) {
  fail("not implemented: attention_forward on the cpu (issue 3)");
}

void attention_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                        const Tensor&, double, const Tensor&, const Tensor&, const Tensor&) {
  fail("not implemented: attention_backward on the cpu (issue 3)");
}

}  // namespace trip::cpu
