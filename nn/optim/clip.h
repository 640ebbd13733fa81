// defines: clip_grad_norm, PyTorch's torch.nn.utils.clip_grad_norm_ (L2, error_if_nonfinite=True).
#pragma once
#include "nn/state.h"

namespace trip::nn {

// Scales the gradients of `params` in place so that their global L2 norm (the norm of all
// gradients concatenated) is at most max_norm: scale = max_norm / (norm + 1e-6), applied only
// when it is below 1. Parameters without a gradient are ignored. Returns the norm before
// clipping. A NaN or infinite norm throws (naming the first non-finite gradient) and leaves the
// gradients untouched: a NaN must stop training, not silently corrupt the weights.
double clip_grad_norm(const NamedTensors& params, double max_norm);

}  // namespace trip::nn
