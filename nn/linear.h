// defines: Linear (torch.nn.Linear): y = x W^T + b, weight [out, in], bias [out].
#pragma once
#include "nn/module.h"

namespace trip::nn {

class Linear : public Module {
 public:
  // PyTorch's default init: kaiming_uniform(a = sqrt(5)) weight, U(+-1/sqrt(in)) bias.
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  // x [..., in] -> [..., out].
  Tensor forward(const Tensor& x) const;
  std::string extra_repr() const override;

  int64_t in_features, out_features;
  Tensor weight;  // [out, in]
  Tensor bias;    // [out], undefined without bias
};

}  // namespace trip::nn
