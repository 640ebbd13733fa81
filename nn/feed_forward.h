// defines: GEGLU and FeedForward with diffusers' names: `ff.net.0.proj` (Linear(dim, 2 * inner)),
// `ff.net.1` (Dropout), `ff.net.2` (Linear(inner, dim_out)), the feed-forward of every
// transformer block of the UNet (GLU variants, Shazeer 2020).
#pragma once
#include <memory>

#include "nn/dropout.h"
#include "nn/linear.h"
#include "nn/module.h"

namespace trip::nn {

class GEGLU : public Module {
 public:
  GEGLU(int64_t dim_in, int64_t dim_out);
  // proj(x) split in halves [hidden, gate] along the last dim -> hidden * gelu(gate).
  Tensor forward(const Tensor& x) const;

  std::shared_ptr<Linear> proj;  // Linear(dim_in, 2 * dim_out)
};

class FeedForward : public Module {
 public:
  // diffusers' FeedForward(dim, dim_out, mult, dropout, activation_fn="geglu"); inner = dim * mult.
  explicit FeedForward(int64_t dim, int64_t dim_out = 0, int64_t mult = 4, double dropout = 0.0);
  // x [..., dim] -> [..., dim_out].
  Tensor forward(const Tensor& x) const;

  std::shared_ptr<ModuleList> net;   // [GEGLU, Dropout, Linear]
  std::shared_ptr<GEGLU> geglu;      // net[0], typed
  std::shared_ptr<Dropout> dropout;  // net[1]
  std::shared_ptr<Linear> out;       // net[2]
};

}  // namespace trip::nn
