// defines: Dropout (torch.nn.Dropout): in training, zeroes each element with probability p and
// scales the rest by 1 / (1 - p) so the expectation is unchanged; identity in eval mode.
#pragma once
#include "nn/module.h"

namespace trip::nn {

class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  // The mask comes from trip::rand (Philox, the default generator), so the same seed gives the
  // same mask on CPU and GPU, and activation checkpointing can replay it.
  Tensor forward(const Tensor& x) const;
  std::string extra_repr() const override;
  double p;
};

}  // namespace trip::nn
