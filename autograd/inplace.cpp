// In-place ops. Autograd does not track in-place changes, so with grad mode on they refuse
// tensors that require grad: modifying one would make its recorded history wrong, and writing a
// tensor that requires grad into another would silently lose its gradient. Optimizers and
// buffer updates run them under NoGradGuard; SavedTensor still catches a saved tensor changed
// that way before backward.
#include "autograd/functions.h"

namespace trip {

static void check_untracked(const char* op, std::initializer_list<Tensor> tensors) {
  if (!is_grad_enabled()) return;
  for (const Tensor& t : tensors)
    TRIP_CHECK(!t.requires_grad(),
               "{}: in-place op on a tensor that requires grad while grad mode is on; autograd "
               "does not record in-place changes. Use the out-of-place op, or run it under "
               "NoGradGuard (as optimizer updates do)",
               op);
}

void fill_(const Tensor& t, double value) {
  check_untracked("fill_", {t});
  ops::fill_(t, value);
}

void copy_(const Tensor& dst, const Tensor& src) {
  check_untracked("copy_", {dst, src});
  ops::copy_(dst, src);
}

void add_(const Tensor& a, const Tensor& b, double alpha) {
  check_untracked("add_", {a, b});
  ops::add_(a, b, alpha);
}

void mul_(const Tensor& a, const Tensor& b) {
  check_untracked("mul_", {a, b});
  ops::mul_(a, b);
}

void mul_(const Tensor& a, double b) {
  check_untracked("mul_", {a});
  ops::mul_(a, b);
}

}  // namespace trip
