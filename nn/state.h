// defines: the plain data a training state is made of — named tensors of the model, the
// optimizer's per-parameter moments and step, the RNG position and the run's config — so that the
// optimizer (nn/optim/) and the checkpoint files (nn/io/) meet in one vocabulary without knowing
// each other.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tensor/ops.h"
#include "tensor/tensor.h"

namespace trip::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;  // in a stable order

// AdamW state of one parameter (PyTorch's exp_avg / exp_avg_sq / step).
struct ParamState {
  std::string name;  // the parameter's dotted name in the model
  Tensor exp_avg;
  Tensor exp_avg_sq;
  int64_t step = 0;
};

// One parameter group: its name ("unet", "tnf"), hyper-parameters and the state of its parameters.
struct GroupState {
  std::string name;
  double lr = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.01;
  std::vector<ParamState> params;
};

struct TrainingState {
  NamedTensors model;  // parameters and buffers by dotted name
  std::vector<GroupState> optimizer;
  int64_t step = 0;                // training step
  std::string config_json = "{}";  // the run's configuration
  ops::Generator rng;              // the default generator's position
  NamedTensors ema;                // EMA shadows of the parameters; empty without EMA
  int64_t ema_updates = 0;         // EMA::num_updates() (drives its decay warm-up)
};

}  // namespace trip::nn
