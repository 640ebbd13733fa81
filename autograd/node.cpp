#include "autograd/node.h"

#include "tensor/ops.h"

namespace trip {

Node::~Node() {
  // A chain of N ops is N nodes each owning the next; letting each destructor destroy the next
  // recursively overflows the stack for deep graphs. Instead, take over the edges of every node
  // about to die here (we hold its last reference), so each dies with no edges of its own.
  std::vector<std::shared_ptr<Node>> dying;
  for (Edge& e : next)
    if (e.node) dying.push_back(std::move(e.node));
  while (!dying.empty()) {
    std::shared_ptr<Node> node = std::move(dying.back());
    dying.pop_back();
    if (node.use_count() == 1)
      for (Edge& e : node->next)
        if (e.node) dying.push_back(std::move(e.node));
  }
}

AutogradMeta& ensure_autograd_meta(const Tensor& t) {
  std::shared_ptr<AutogradMeta>& meta = t.impl().autograd;
  if (!meta) meta = std::make_shared<AutogradMeta>();
  return *meta;
}

Tensor alias_without_autograd(const Tensor& t) {
  auto impl = std::make_shared<TensorImpl>(t.impl());
  impl->autograd = nullptr;
  return Tensor(std::move(impl));
}

// The gradient a leaf receives in one backward is added to its .grad (PyTorch semantics: grads
// accumulate across backward calls until the user clears them). The stored gradient must be a
// contiguous tensor nobody else holds, because optimizers and gradient clipping modify .grad in
// place: a gradient shared with another leaf (AddBackward hands the same tensor to both inputs)
// or with the caller (the gradient given to backward()) is copied first.
static std::shared_ptr<Node> make_grad_accumulator(const Tensor& leaf) {
  auto node = std::make_shared<Node>();
  node->name = "AccumulateGrad";
  node->outputs.push_back({leaf.shape(), leaf.dtype(), leaf.device()});
  node->reusable = true;
  // Weak: the leaf owns this node through its AutogradMeta; a strong pointer would be a cycle.
  std::weak_ptr<TensorImpl> weak_leaf = leaf.impl_ptr();
  node->backward = [weak_leaf](std::vector<Tensor>& grads) -> std::vector<Tensor> {
    std::shared_ptr<TensorImpl> impl = weak_leaf.lock();
    if (!impl) return {};  // the leaf is gone, so nobody can read its gradient
    Tensor g = std::move(grads[0]);
    AutogradMeta& meta = *impl->autograd;
    if (meta.grad.defined()) {
      meta.grad = ops::binary(BinaryOp::add, meta.grad, g);
    } else {
      bool owned = g.impl_ptr().use_count() == 1 && g.storage().use_count() == 1;
      meta.grad = owned && g.is_contiguous() ? g : ops::clone(g);
    }
    return {};
  };
  return node;
}

Edge gradient_edge(const Tensor& t) {
  AutogradMeta* meta = autograd_meta(t);
  if (!meta) return {};
  if (meta->grad_fn) return {meta->grad_fn, meta->output_nr};
  if (!meta->requires_grad) return {};
  if (!meta->grad_accumulator) meta->grad_accumulator = make_grad_accumulator(t);
  return {meta->grad_accumulator, 0};
}

// ---- SavedTensor ----

static thread_local const std::string* running_node = nullptr;

const std::string& running_node_name() {
  static const std::string none;
  return running_node ? *running_node : none;
}

RunningNodeScope::RunningNodeScope(const std::string& name) : previous_(running_node) {
  running_node = &name;
}
RunningNodeScope::~RunningNodeScope() { running_node = previous_; }

SavedTensor::SavedTensor(const Tensor& t) {
  if (!t.defined()) return;
  impl_ = t.impl();
  impl_.autograd = nullptr;
  version_ = impl_.storage->version();
  defined_ = true;
}

Tensor SavedTensor::get() const {
  if (!defined_) return Tensor();
  uint64_t now = impl_.storage->version();
  TRIP_CHECK(now == version_,
             "a tensor saved for backward by {} was modified in place (its storage version went "
             "from {} to {}), so its gradient would be wrong; clone() the tensor before modifying "
             "it, or modify a copy",
             running_node_name().empty() ? std::string("an op") : running_node_name(), version_,
             now);
  return Tensor(std::make_shared<TensorImpl>(impl_));
}

}  // namespace trip
