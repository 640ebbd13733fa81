// defines: the thread-local grad mode (is_grad_enabled, NoGradGuard, EnableGradGuard) and
// detach(). With grad mode off, differentiable ops record nothing: use it for inference, for
// optimizer updates (in-place ops on parameters) and inside backward formulas.
#pragma once
#include "tensor/tensor.h"

namespace trip {

bool is_grad_enabled();
void set_grad_enabled(bool enabled);

// Scoped grad-mode switches; each restores the previous mode, so they nest.
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled) : previous_(is_grad_enabled()) { set_grad_enabled(enabled); }
  ~GradModeGuard() { set_grad_enabled(previous_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};
struct NoGradGuard : GradModeGuard {
  NoGradGuard() : GradModeGuard(false) {}
};
struct EnableGradGuard : GradModeGuard {
  EnableGradGuard() : GradModeGuard(true) {}
};

// A tensor sharing t's storage (and so its values and in-place changes) that is cut from the
// graph: it has no grad_fn and does not require grad.
Tensor detach(const Tensor& t);

}  // namespace trip
