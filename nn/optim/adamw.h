// defines: AdamW, torch.optim.AdamW (amsgrad=False, maximize=False) with named parameter groups,
// and its state export/import through nn::GroupState so checkpoints (nn/io/) can save it.
//
// One step of a parameter p with gradient g (PyTorch's order of operations, so f64 results
// match PyTorch's to rounding):
//   t += 1;  p *= 1 - lr * wd                       (decoupled weight decay, Loshchilov & Hutter)
//   m = b1 * m + (1 - b1) * g;  v = b2 * v + (1 - b2) * g^2
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// t is counted per parameter, as in PyTorch: a parameter without a gradient is skipped and its
// step does not advance.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "nn/state.h"
#include "tensor/tensor.h"

namespace trip::nn {

// A parameter group's hyper-parameters and named parameters (TRIP: "unet" at 2e-6, "tnf" at 2e-4).
struct ParamGroup {
  std::string name;
  NamedTensors params;  // dotted names as in the model
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;  // PyTorch's AdamW default
};

class AdamW {
 public:
  // Group names must be unique, and so must parameter names across all groups.
  explicit AdamW(std::vector<ParamGroup> groups);

  // One update of every parameter that has a gradient; runs under NoGradGuard. Contiguous f32/f64
  // parameters take the fused kernels of ops::adamw_step_ (tensor/adamw.h: one multithreaded pass
  // over p, g, m, v on the CPU, one multi-tensor launch per dtype on CUDA), strided gradients
  // copied contiguous first; others (f16/bf16, strided) take the generic path of in-place ops.
  void step();
  // Clears every parameter's gradient (PyTorch's zero_grad(set_to_none=True)).
  void zero_grad();

  void set_lr(const std::string& group, double lr);
  double lr(const std::string& group) const;
  const std::vector<ParamGroup>& groups() const { return groups_; }

  // The optimizer state, one GroupState per group, in group order. Parameters that have not been
  // stepped yet have no state and are left out (as in PyTorch's state_dict). The moments are
  // copies: later steps do not change an exported state.
  std::vector<GroupState> export_state() const;
  // Restores hyper-parameters and moments (copied, converted to each parameter's dtype and
  // device). Groups must match by name and count; each ParamState must name a parameter of its
  // group and have its shape; parameters not mentioned start afresh. Checks everything before
  // changing anything, so a failed import leaves the optimizer as it was.
  void import_state(const std::vector<GroupState>& state);

 private:
  struct Slot {  // per-parameter state; exp_avg undefined until the first step
    Tensor exp_avg, exp_avg_sq;
    int64_t step = 0;
  };
  std::vector<ParamGroup> groups_;
  std::vector<std::vector<Slot>> slots_;  // [group][param]
  size_t group_index(const std::string& name) const;
};

}  // namespace trip::nn
