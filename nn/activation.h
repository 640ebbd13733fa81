// defines: SiLU and GELU as modules, for the places where diffusers keeps an activation as a
// child (it has no parameters, so it adds no names; it appears in the printed tree).
#pragma once
#include "autograd/functions.h"
#include "nn/module.h"

namespace trip::nn {

class SiLU : public Module {
 public:
  SiLU() : Module("SiLU") {}
  Tensor forward(const Tensor& x) const { return silu(x); }
};

class GELU : public Module {
 public:
  // tanh_approx: diffusers' GELU(approximate="tanh"); the default is the exact erf form.
  explicit GELU(bool tanh_approx = false) : Module("GELU"), tanh_approx(tanh_approx) {}
  Tensor forward(const Tensor& x) const { return gelu(x, tanh_approx); }
  std::string extra_repr() const override { return tanh_approx ? "approximate='tanh'" : ""; }
  bool tanh_approx;
};

}  // namespace trip::nn
