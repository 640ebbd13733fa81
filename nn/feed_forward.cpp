#include "nn/feed_forward.h"

#include "autograd/functions.h"

namespace trip::nn {

GEGLU::GEGLU(int64_t dim_in, int64_t dim_out) : Module("GEGLU") {
  proj = register_module("proj", std::make_shared<Linear>(dim_in, 2 * dim_out));
}

Tensor GEGLU::forward(const Tensor& x) const {
  std::vector<Tensor> halves = chunk(proj->forward(x), 2, -1);  // diffusers' order: hidden, gate
  return halves[0] * gelu(halves[1]);
}

FeedForward::FeedForward(int64_t dim, int64_t dim_out, int64_t mult, double p)
    : Module("FeedForward") {
  int64_t inner = dim * mult;
  net = register_module("net", std::make_shared<ModuleList>());
  geglu = net->push_back(std::make_shared<GEGLU>(dim, inner));
  dropout = net->push_back(std::make_shared<Dropout>(p));
  out = net->push_back(std::make_shared<Linear>(inner, dim_out > 0 ? dim_out : dim));
}

Tensor FeedForward::forward(const Tensor& x) const {
  return out->forward(dropout->forward(geglu->forward(x)));
}

}  // namespace trip::nn
