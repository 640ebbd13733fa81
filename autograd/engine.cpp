// The backward engine, in three steps:
//   1. order: every node reachable from the roots, each before the nodes its gradients flow into
//      (reverse post-order of a depth-first search, with an explicit stack: graphs of thousands of
//      ops would overflow the call stack with recursion);
//   2. run the nodes in that order; a node's output gradients are complete when it runs, because
//      every node that feeds it came earlier;
//   3. hand each input gradient along its edge, summing where several paths meet.
// Leaves are reached through their AccumulateGrad node, which adds into .grad.
#include "autograd/engine.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "tensor/ops.h"

namespace trip {

namespace {

std::vector<Node*> topological_order(const std::vector<Node*>& roots) {
  std::vector<Node*> post_order;
  std::unordered_set<Node*> visited;
  std::vector<std::pair<Node*, size_t>> stack;  // (node, index of the next edge to follow)
  for (Node* root : roots) {
    if (!visited.insert(root).second) continue;
    stack.push_back({root, 0});
    while (!stack.empty()) {
      Node* node = stack.back().first;
      size_t edge = stack.back().second++;
      if (edge < node->next.size()) {
        Node* child = node->next[edge].node.get();
        if (child && visited.insert(child).second) stack.push_back({child, 0});
      } else {
        post_order.push_back(node);  // all of its descendants are already in post_order
        stack.pop_back();
      }
    }
  }
  std::reverse(post_order.begin(), post_order.end());
  return post_order;
}

// True when a tensor of shape `from` broadcasts to shape `to`.
bool expandable(const Dims& from, const Dims& to) {
  if (from.size() > to.size()) return false;
  for (int i = 1; i <= from.size(); ++i) {
    int64_t f = from[from.size() - i], t = to[to.size() - i];
    if (f != t && f != 1) return false;
  }
  return true;
}

// Brings a gradient computed by `node` for its input `input` to that input's shape and dtype.
// Doing it here (as PyTorch's engine does) spares every broadcasting op its own sum_to and
// every mixed-dtype op its own cast; a shape that does not broadcast is a bug in the formula.
Tensor conform(Tensor g, const OutputInfo& expected, const Node& node, size_t input) {
  if (!(g.shape() == expected.shape)) {
    TRIP_CHECK(expandable(expected.shape, g.shape()),
               "{} returned a gradient of shape {} for its input {}, which has shape {}", node.name,
               g.shape(), input, expected.shape);
    g = ops::sum_to(g, expected.shape);
  }
  TRIP_CHECK(g.device() == expected.device,
             "{} returned a gradient on {} for its input {}, which is on {}", node.name, g.device(),
             input, expected.device);
  if (g.dtype() != expected.dtype) g = ops::to(g, expected.dtype);
  return g;
}

void accumulate(Tensor& slot, Tensor g) {
  slot = slot.defined() ? ops::binary(BinaryOp::add, slot, g) : std::move(g);
}

Tensor root_gradient(const Tensor& root, const Tensor& grad, size_t i) {
  TRIP_CHECK(root.requires_grad(),
             "backward: root {} (shape {}) does not require grad and has no grad_fn: nothing "
             "that requires grad was used to compute it (or grad mode was off)",
             i, root.shape());
  if (!grad.defined()) {
    TRIP_CHECK(root.numel() == 1,
               "backward: a gradient can be implied only for a scalar (one-element) output, but "
               "this tensor has shape {}; pass a gradient of shape {} to backward()",
               root.shape(), root.shape());
    return ops::ones_like(root);
  }
  TRIP_CHECK(grad.shape() == root.shape(),
             "backward: the gradient has shape {} but the tensor has shape {}", grad.shape(),
             root.shape());
  return grad;
}

}  // namespace

void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads,
                  bool retain_graph) {
  TRIP_CHECK(roots.size() == grads.size(), "backward: {} roots but {} gradients", roots.size(),
             grads.size());
  // Backward formulas are written with the differentiable API; they must not record a graph.
  NoGradGuard no_grad;

  // Gradients waiting for each node, one slot per node output.
  std::unordered_map<Node*, std::vector<Tensor>> pending;
  auto slot = [&](const Edge& e) -> Tensor& {
    std::vector<Tensor>& slots = pending[e.node.get()];
    slots.resize(e.node->outputs.size());
    return slots[e.output_nr];
  };

  std::vector<Node*> root_nodes;
  for (size_t i = 0; i < roots.size(); ++i) {
    Tensor g = root_gradient(roots[i], grads[i], i);
    Edge e = gradient_edge(roots[i]);
    accumulate(slot(e), conform(g, e.node->outputs[e.output_nr], *e.node, i));
    root_nodes.push_back(e.node.get());
  }
  // The roots hold their nodes, and through the edges the whole graph, alive while we work with
  // raw pointers below.

  for (Node* node : topological_order(root_nodes)) {
    auto it = pending.find(node);
    if (it == pending.end()) continue;  // every path to it returned "no gradient"
    std::vector<Tensor> grad_outputs = std::move(it->second);
    pending.erase(it);

    TRIP_CHECK(!node->released(),
               "backward through the graph a second time: {} has already freed its saved "
               "tensors; pass retain_graph=true to the first backward() to run backward through "
               "the same graph again",
               node->name);
    // A multi-output node may get gradients for some outputs only; the others are zero.
    grad_outputs.resize(node->outputs.size());
    for (size_t k = 0; k < grad_outputs.size(); ++k)
      if (!grad_outputs[k].defined()) {
        const OutputInfo& out = node->outputs[k];
        grad_outputs[k] = ops::zeros(out.shape, TensorOptions(out.dtype, out.device));
      }

    std::vector<Tensor> grad_inputs;
    {
      RunningNodeScope running(node->name);  // lets SavedTensor errors name this node
      grad_inputs = node->backward(grad_outputs);
    }
    TRIP_CHECK(grad_inputs.size() == node->next.size(),
               "{} returned {} gradients for its {} inputs", node->name, grad_inputs.size(),
               node->next.size());
    grad_outputs.clear();  // free them now: graphs are long and gradients large
    if (!retain_graph) node->release();

    for (size_t i = 0; i < grad_inputs.size(); ++i) {
      const Edge& e = node->next[i];
      if (!e.node || !grad_inputs[i].defined()) continue;
      const OutputInfo& expected = e.node->outputs[e.output_nr];
      accumulate(slot(e), conform(std::move(grad_inputs[i]), expected, *node, i));
    }
  }
}

}  // namespace trip
