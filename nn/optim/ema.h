// defines: EMA, an exponential moving average of model weights (diffusers' EMAModel, with
// update_after_step = 0 and without inverse-gamma warm-up), for sampling with smoothed weights.
#pragma once
#include <cstdint>

#include "nn/state.h"

namespace trip::nn {

class EMA {
 public:
  // Takes shadow copies of `params` (names kept for state export and copy_to checks).
  // With decay_warmup, the decay used at the n-th update (n = 1, 2, ...) is, as in diffusers,
  //   d_n = 0 for n = 1 (the shadow becomes the weights),  min(decay, (1 + s) / (10 + s)) with
  //   s = n - 1 afterwards,
  // so early updates follow the fast-changing weights; without it d_n = decay throughout.
  EMA(const NamedTensors& params, double decay = 0.9999, bool decay_warmup = true);

  // shadow = d * shadow + (1 - d) * param for every parameter, under NoGradGuard. `params` must
  // name the same tensors (same names, order and shapes) as at construction.
  void update(const NamedTensors& params);
  // Copies the shadows into `params` (e.g. before sampling or saving an EMA checkpoint).
  void copy_to(const NamedTensors& params) const;

  // The decay the next update() will use.
  double next_decay() const;
  int64_t num_updates() const { return updates_; }

  // Shadows by name (copies); with num_updates() this is the whole state.
  NamedTensors state() const;
  // Restores the shadows (copied, converted to the current shadows' dtype and device); names and
  // shapes must match exactly.
  void load_state(const NamedTensors& shadows, int64_t num_updates);

 private:
  NamedTensors shadows_;
  double decay_;
  bool decay_warmup_;
  int64_t updates_ = 0;
  void check_same(const NamedTensors& other, const char* what) const;
};

}  // namespace trip::nn
