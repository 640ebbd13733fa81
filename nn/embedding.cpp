#include "nn/embedding.h"

#include "autograd/functions.h"

namespace trip::nn {

Embedding::Embedding(int64_t num, int64_t dim)
    : Module("Embedding"), num_embeddings(num), embedding_dim(dim) {
  weight = register_parameter("weight", randn({num, dim}));
}

Tensor Embedding::forward(const Tensor& indices) const {
  TRIP_CHECK(is_integral(indices.dtype()), "Embedding: indices must be integers, got {}",
             indices.dtype());
  Dims out_shape = indices.shape();
  out_shape.push_back(embedding_dim);
  Tensor flat = indices.dim() == 1 ? indices : reshape(indices, {indices.numel()});
  return reshape(index_select(weight, 0, flat), out_shape);
}

std::string Embedding::extra_repr() const {
  return fmt::format("{}, {}", num_embeddings, embedding_dim);
}

}  // namespace trip::nn
