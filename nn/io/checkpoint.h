// defines: HDF5 checkpoints of a TrainingState (nn/state.h), written atomically (see
// nn/io/atomic_file.h) so a crash never replaces a good checkpoint with a broken one.
//
// Layout (opens in h5py as the obvious tree):
//   /                      attributes format_version, step, config (JSON string), rng_seed,
//                          rng_offset
//   /model/<dotted name>   one dataset per tensor, its shape and dtype, attribute "dtype"
//   /optimizer/<group>     attributes lr, betas [2], eps, weight_decay
//   /optimizer/<group>/<dotted name>/{exp_avg, exp_avg_sq}   attribute step on the param group
//   /ema/<dotted name>     EMA shadow weights (only when the state has them), attribute updates
// Dotted names contain no '/', so each stays one HDF5 name (a '/' would create groups; such
// names are rejected). Group and parameter order is kept through HDF5 link creation order.
#pragma once
#include <string>

#include "nn/state.h"

namespace trip::nn {

inline constexpr int64_t kCheckpointFormatVersion = 1;

void save_checkpoint(const std::string& path, const TrainingState& state);

// Everything in the file as stored (CPU tensors). Errors name the file and the problem: missing
// file, not HDF5, truncated or corrupted, wrong format version, malformed entries.
TrainingState load_checkpoint(const std::string& path);

// Loads into an existing state to resume training: the model's tensors are copied in place (same
// names, shapes and dtypes required; every problem is listed in one error and nothing is changed),
// optimizer groups are matched by name and their moments copied into defined tensors (assigned
// where the target has none yet); step, config and rng are replaced.
void restore_checkpoint(const std::string& path, TrainingState& state);

}  // namespace trip::nn
