// defines: record(), the one helper every differentiable op uses to put itself in the graph, and
// the Grads/SavedTensor vocabulary of backward formulas. A differentiable op is its forward,
// computed with trip::ops, and its backward as a lambda right next to it:
//
//   Tensor mul(const Tensor& a, const Tensor& b) {
//     Tensor out = ops::binary(BinaryOp::mul, a, b);
//     return record("MulBackward", out, {a, b}, [a = save(a), b = save(b)](const Tensor& g) {
//       return Grads{g * b.get(), g * a.get()};  // one gradient per input
//     });
//   }
//
// record() adds a node only when grad mode is on and some input requires grad; otherwise it
// returns `out` untouched. Backward formulas run with grad mode off, so they may use the
// differentiable API freely. The engine sums a gradient down to its input's shape when the op
// broadcast (ops::sum_to) and casts it to the input's dtype, so formulas need not.
#pragma once
#include <functional>
#include <initializer_list>
#include <span>
#include <string_view>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/node.h"

namespace trip {

using Grads = std::vector<Tensor>;  // one gradient per input; undefined = "none for this input"

// Whether an op on these inputs is recorded: grad mode is on and some input requires grad.
bool should_record(std::span<const Tensor> inputs);
inline bool should_record(std::initializer_list<Tensor> inputs) {
  return should_record(std::span<const Tensor>(inputs.begin(), inputs.size()));
}

// Records a single-output op. Returns `output` with its grad_fn set (a new handle on the same
// storage when `output` is one of the inputs, as contiguous() of a contiguous tensor is), or
// `output` unchanged when nothing is recorded or its dtype is not floating.
Tensor record(std::string_view name, const Tensor& output, std::span<const Tensor> inputs,
              std::function<Grads(const Tensor& grad_output)> backward);
inline Tensor record(std::string_view name, const Tensor& output,
                     std::initializer_list<Tensor> inputs,
                     std::function<Grads(const Tensor& grad_output)> backward) {
  return record(name, output, std::span<const Tensor>(inputs.begin(), inputs.size()),
                std::move(backward));
}

// Records an op with several outputs (split, checkpoint). backward gets one gradient per output
// (zeros for outputs that received none). Outputs of non-floating dtype are not differentiable
// and get no grad_fn. `force` records even when no input requires grad (checkpoint: parameters
// captured by its function may).
std::vector<Tensor> record_outputs(std::string_view name, std::vector<Tensor> outputs,
                                   std::span<const Tensor> inputs,
                                   std::function<Grads(const Grads& grad_outputs)> backward,
                                   bool force = false);
inline std::vector<Tensor> record_outputs(std::string_view name, std::vector<Tensor> outputs,
                                          std::initializer_list<Tensor> inputs,
                                          std::function<Grads(const Grads& grad_outputs)> backward,
                                          bool force = false) {
  return record_outputs(name, std::move(outputs),
                        std::span<const Tensor>(inputs.begin(), inputs.size()), std::move(backward),
                        force);
}

// While alive, notes whether any op run with grad mode off had an input requiring grad.
// checkpoint() runs its function without grad and uses this to learn whether the function
// touched parameters (captured, not passed as inputs) that will want gradients.
class RequiresGradProbe {
 public:
  RequiresGradProbe();
  ~RequiresGradProbe();
  RequiresGradProbe(const RequiresGradProbe&) = delete;
  RequiresGradProbe& operator=(const RequiresGradProbe&) = delete;
  bool seen() const { return seen_; }

 private:
  friend void note_inputs_without_grad_mode(std::span<const Tensor> inputs);
  RequiresGradProbe* previous_;
  bool seen_ = false;
};

}  // namespace trip
