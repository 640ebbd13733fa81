// The autograd methods of Tensor (declared in tensor/tensor.h, which knows nothing of gradients).
#include "autograd/engine.h"
#include "autograd/node.h"

namespace trip {

bool Tensor::requires_grad() const {
  AutogradMeta* meta = autograd_meta(*this);
  return meta && (meta->requires_grad || meta->grad_fn);
}

Tensor& Tensor::set_requires_grad(bool on) {
  AutogradMeta* meta = autograd_meta(*this);
  TRIP_CHECK(!(meta && meta->grad_fn),
             "set_requires_grad: only leaves can change requires_grad; this tensor was computed "
             "by {} (detach() it to get a leaf)",
             meta ? meta->grad_fn->name : "");
  if (!on && !meta) return *this;
  TRIP_CHECK(!on || is_floating(dtype()),
             "set_requires_grad: only floating tensors can require grad, got dtype {}", dtype());
  ensure_autograd_meta(*this).requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const {
  AutogradMeta* meta = autograd_meta(*this);
  return meta ? meta->grad : Tensor();
}

void Tensor::set_grad(const Tensor& g) {
  TRIP_CHECK(!g.defined() || (g.shape() == shape() && g.dtype() == dtype()),
             "set_grad: gradient of shape {} and dtype {} for a tensor of shape {} and dtype {}",
             g.shape(), g.dtype(), shape(), dtype());
  if (!g.defined() && !autograd_meta(*this)) return;
  ensure_autograd_meta(*this).grad = g;
}

bool Tensor::is_leaf() const {
  AutogradMeta* meta = autograd_meta(*this);
  return !meta || !meta->grad_fn;
}

std::shared_ptr<Node> Tensor::grad_fn() const {
  AutogradMeta* meta = autograd_meta(*this);
  return meta ? meta->grad_fn : nullptr;
}

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  run_backward({*this}, {gradient}, retain_graph);
}

}  // namespace trip
