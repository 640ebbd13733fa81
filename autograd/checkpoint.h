// defines: checkpoint(), activation checkpointing: trade compute for memory by not keeping a
// block's intermediate activations and recomputing them during backward.
#pragma once
#include <functional>
#include <vector>

#include "tensor/tensor.h"

namespace trip {

using CheckpointFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

// Runs fn(inputs) without recording its graph and records one node for the whole call. Its
// backward re-runs fn with grad on (on detached copies of the inputs that require grad as the
// originals do, and with the random generator rewound, so dropout draws the same mask) and
// back-propagates through the recomputed graph. Parameters fn uses without receiving them in
// `inputs` get their gradients from that inner backward. Every non-leaf tensor fn uses must be
// passed in `inputs`: a captured one would be back-propagated through twice.
std::vector<Tensor> checkpoint(const CheckpointFn& fn, const std::vector<Tensor>& inputs);

}  // namespace trip
