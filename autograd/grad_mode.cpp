#include "autograd/grad_mode.h"

#include "autograd/node.h"

namespace trip {

// Per thread, like PyTorch: a data-loader thread turning grad off must not affect training.
static thread_local bool grad_enabled = true;

bool is_grad_enabled() { return grad_enabled; }
void set_grad_enabled(bool enabled) { grad_enabled = enabled; }

Tensor detach(const Tensor& t) { return alias_without_autograd(t); }

}  // namespace trip
