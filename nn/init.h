// defines: parameter initialisation with PyTorch's default distributions, so a model built here
// starts from the same distribution as its diffusers counterpart, and zero_() for the layers that
// diffusion models start at zero (the last conv of a temporal block, output projections).
// Everything draws from the default generator (trip::manual_seed makes it reproducible).
#pragma once
#include <cstdint>

#include "tensor/tensor.h"

namespace trip::nn {

class Module;

namespace init {

// Fan-in of a weight [out, in, *kernel]: in * prod(kernel) (torch's _calculate_fan_in_and_fan_out).
int64_t fan_in(const Dims& weight_shape);

// New tensors (f32 on the CPU unless options say otherwise).
// kaiming_uniform(a): U(-b, b), b = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2)). With
// a = sqrt(5) (nn.Linear / nn.ConvNd's default) b = 1 / sqrt(fan_in).
Tensor kaiming_uniform(const Dims& shape, double a, TensorOptions options = {});
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)): the default bias of nn.Linear / nn.ConvNd.
Tensor default_bias(int64_t size, int64_t fan_in, TensorOptions options = {});

// In place on existing tensors (under no-grad, so parameters can be re-initialised).
void uniform_(const Tensor& t, double low, double high);
void normal_(const Tensor& t, double mean = 0.0, double std = 1.0);
void constant_(const Tensor& t, double value);

}  // namespace init

// Sets every parameter of the module (recursively) to zero; returns the module for chaining.
Module& zero_(Module& module);

}  // namespace trip::nn
