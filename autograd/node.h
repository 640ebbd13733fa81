// defines: Node (one recorded op of the graph: where its input gradients go and how to compute
// them), Edge, AutogradMeta (what a tensor knows about gradients), SavedTensor (a tensor kept
// for backward, checked for in-place changes) and the accessors autograd uses on a tensor.
//
// The graph points backwards: a tensor's grad_fn is the Node that produced it, and a Node's
// `next` edges lead to the Nodes that produced its inputs. A leaf that requires grad has an
// "AccumulateGrad" Node instead, whose backward adds into the leaf's .grad.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace trip {

// Where the gradient of one input goes: output `output_nr` of `node` (null: the input needs none).
struct Edge {
  std::shared_ptr<Node> node;
  int output_nr = 0;
};

// Shape, dtype and device of one output of a node, kept so the engine can check the gradients
// flowing into that output and make zeros for an output that received none.
struct OutputInfo {
  Dims shape;
  DType dtype = DType::f32;
  Device device = kCPU;
};

// Computes the gradients of a node's inputs (one per `next` edge; undefined = none) from the
// gradients of its outputs (one per output, never undefined: the engine fills in zeros).
using BackwardFn = std::function<std::vector<Tensor>(std::vector<Tensor>& grad_outputs)>;

struct Node {
  std::string name;                 // "MulBackward": used in every error about this node
  std::vector<Edge> next;           // next[i]: where the gradient of input i goes
  std::vector<OutputInfo> outputs;  // one per output of the forward op
  BackwardFn backward;              // owns the saved tensors; null once released
  bool reusable = false;            // AccumulateGrad nodes survive backward (leaves live on)

  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  ~Node();  // unlinks long chains iteratively (see node.cpp)

  bool released() const { return !backward; }
  // Drops the backward function and with it every saved tensor (after backward without
  // retain_graph), so activations are freed as soon as the gradient has passed.
  void release() {
    if (!reusable) backward = nullptr;
  }
};

struct AutogradMeta {
  bool requires_grad = false;     // set by the user on leaves; non-leaves require grad by grad_fn
  Tensor grad;                    // accumulated gradient of a leaf
  std::shared_ptr<Node> grad_fn;  // the node that produced this tensor (null for leaves)
  int output_nr = 0;              // which output of grad_fn this tensor is
  std::shared_ptr<Node> grad_accumulator;  // a leaf's AccumulateGrad node, made on first use
};

// The tensor's autograd information, or null when it has none.
inline AutogradMeta* autograd_meta(const Tensor& t) { return t.impl().autograd.get(); }
// The tensor's autograd information, created empty when missing.
AutogradMeta& ensure_autograd_meta(const Tensor& t);
// Where a gradient for `t` must be sent: its grad_fn, or its leaf's AccumulateGrad node, or
// nowhere (null node) when t does not require grad.
Edge gradient_edge(const Tensor& t);
// A new handle on t's storage and geometry without autograd information (detach, SavedTensor).
Tensor alias_without_autograd(const Tensor& t);

// A tensor kept for backward. It holds the storage and geometry but not the autograd
// information: saving a node's own output must not create a cycle node -> output -> node, and
// saving inputs must not keep graphs alive after the node is released. It remembers the storage
// version, so reading it after an in-place change throws instead of silently giving a wrong
// gradient.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t);
  // The saved tensor; throws Error naming the node being run if its storage changed in place.
  Tensor get() const;
  bool defined() const { return defined_; }

 private:
  TensorImpl impl_;  // a copy of the geometry, autograd left null (no allocation until get())
  uint64_t version_ = 0;
  bool defined_ = false;
};
inline SavedTensor save(const Tensor& t) { return SavedTensor(t); }

// The name of the node whose backward is running on this thread ("" outside backward), so a
// SavedTensor can say which op it was saved by. The engine sets it with RunningNodeScope.
const std::string& running_node_name();
class RunningNodeScope {
 public:
  explicit RunningNodeScope(const std::string& name);
  ~RunningNodeScope();
  RunningNodeScope(const RunningNodeScope&) = delete;
  RunningNodeScope& operator=(const RunningNodeScope&) = delete;

 private:
  const std::string* previous_;
};

}  // namespace trip
