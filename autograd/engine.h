// defines: run_backward(), the reverse-mode engine behind Tensor::backward() (and used directly
// by checkpoint to back-propagate through a recomputed graph).
#pragma once
#include <vector>

#include "tensor/tensor.h"

namespace trip {

// Back-propagates grads[i] from roots[i] (an undefined grad means 1 for a one-element root),
// adding the results into the .grad of every reachable leaf that requires grad. Without
// retain_graph every node passed releases its saved tensors afterwards.
void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads,
                  bool retain_graph = false);

}  // namespace trip
