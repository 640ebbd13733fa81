// defines: Embedding (torch.nn.Embedding): a table `weight` [num_embeddings, dim], N(0, 1) init,
// looked up by integer indices.
#pragma once
#include "nn/module.h"

namespace trip::nn {

class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim);
  // indices (i32/i64) of any shape -> [*indices.shape, dim].
  Tensor forward(const Tensor& indices) const;
  std::string extra_repr() const override;

  int64_t num_embeddings, embedding_dim;
  Tensor weight;
};

}  // namespace trip::nn
