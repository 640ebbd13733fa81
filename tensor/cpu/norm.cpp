// norm kernels on the CPU: not written yet (issue 3); every entry point says so.
#include "tensor/cpu/kernels.h"

namespace trip::cpu {

void group_norm_forward(const Tensor&, const Tensor&, const Tensor&, int64_t, double, bool,
                        const Tensor&, const Tensor&, const Tensor&) {
  fail("not implemented: group_norm_forward on the cpu (issue 3)");
}

void group_norm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                         const Tensor&, int64_t, bool, const Tensor&, const Tensor&,
                         const Tensor&) {
  fail("not implemented: group_norm_backward on the cpu (issue 3)");
}

void layer_norm_forward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                        double, const Tensor&, const Tensor&, const Tensor&) {
  fail("not implemented: layer_norm_forward on the cpu (issue 3)");
}

void layer_norm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                         const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                         const Tensor&, const Tensor&, const Tensor&) {
  fail("not implemented: layer_norm_backward on the cpu (issue 3)");
}

}  // namespace trip::cpu
