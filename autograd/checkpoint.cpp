#include "autograd/checkpoint.h"

#include <algorithm>

#include "autograd/engine.h"
#include "autograd/record.h"
#include "tensor/ops.h"

namespace trip {

namespace {

// Sets the default random generator to `state` for its lifetime, then restores the current one,
// so the recomputation draws the numbers the first run drew and later draws are unaffected.
class GeneratorReplay {
 public:
  explicit GeneratorReplay(const ops::Generator& state) : saved_(ops::default_generator()) {
    ops::default_generator() = state;
  }
  ~GeneratorReplay() { ops::default_generator() = saved_; }

 private:
  ops::Generator saved_;
};

}  // namespace

std::vector<Tensor> checkpoint(const CheckpointFn& fn, const std::vector<Tensor>& inputs) {
  if (!is_grad_enabled()) return fn(inputs);

  ops::Generator rng_state = ops::default_generator();
  std::vector<Tensor> outputs;
  bool touched_requires_grad;  // did fn use any tensor that requires grad (inputs or captured)?
  {
    RequiresGradProbe probe;
    NoGradGuard no_grad;  // the point: no intermediate is kept alive by a graph
    outputs = fn(inputs);
    touched_requires_grad = probe.seen();
  }
  if (!touched_requires_grad) return outputs;

  std::vector<SavedTensor> saved;
  std::vector<bool> needs_grad;
  for (const Tensor& x : inputs) {
    saved.push_back(save(x));
    needs_grad.push_back(x.defined() && x.requires_grad());
  }
  size_t n_outputs = outputs.size();
  auto backward = [fn, saved, needs_grad, rng_state, n_outputs](const Grads& grad_outputs) {
    // 1. recompute, this time recording a graph whose leaves are copies of the inputs
    std::vector<Tensor> leaves;
    for (size_t i = 0; i < saved.size(); ++i) {
      Tensor x = saved[i].defined() ? detach(saved[i].get()) : Tensor();
      if (needs_grad[i]) x.set_requires_grad(true);
      leaves.push_back(x);
    }
    std::vector<Tensor> recomputed;
    {
      GeneratorReplay replay(rng_state);
      EnableGradGuard grad_on;
      recomputed = fn(leaves);
    }
    TRIP_CHECK(recomputed.size() == n_outputs,
               "checkpoint: the recomputation returned {} tensors, the first run {}",
               recomputed.size(), n_outputs);
    // 2. back-propagate the incoming gradients through it; captured parameters accumulate
    //    their .grad here, the input copies give the gradients this node returns
    std::vector<Tensor> roots, root_grads;
    for (size_t k = 0; k < n_outputs; ++k) {
      if (!recomputed[k].requires_grad()) continue;
      roots.push_back(recomputed[k]);
      root_grads.push_back(grad_outputs[k]);
    }
    if (!roots.empty()) run_backward(roots, root_grads);
    Grads grads;
    for (size_t i = 0; i < leaves.size(); ++i)
      grads.push_back(needs_grad[i] ? leaves[i].grad() : Tensor());
    return grads;
  };
  return record_outputs("CheckpointBackward", std::move(outputs), inputs, std::move(backward),
                        /*force=*/true);
}

}  // namespace trip
