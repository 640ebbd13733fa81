// Exponential moving average of weights.
#include "nn/optim/ema.h"

#include <algorithm>

#include "autograd/functions.h"
#include "tensor/error.h"

namespace trip::nn {

EMA::EMA(const NamedTensors& params, double decay, bool decay_warmup)
    : decay_(decay), decay_warmup_(decay_warmup) {
  TRIP_CHECK(decay >= 0 && decay <= 1, "EMA: decay {} outside [0, 1]", decay);
  NoGradGuard no_grad;
  for (const auto& [name, p] : params) shadows_.emplace_back(name, clone(detach(p)));
}

void EMA::check_same(const NamedTensors& other, const char* what) const {
  TRIP_CHECK(other.size() == shadows_.size(), "EMA::{}: {} tensors given, {} tracked", what,
             other.size(), shadows_.size());
  for (size_t i = 0; i < other.size(); ++i) {
    const auto& [name, t] = other[i];
    const auto& [sname, s] = shadows_[i];
    TRIP_CHECK(name == sname, "EMA::{}: tensor {} is '{}', expected '{}'", what, i, name, sname);
    TRIP_CHECK(t.defined() && t.shape() == s.shape(), "EMA::{}: '{}' has shape {}, expected {}",
               what, name, t.defined() ? t.shape() : Dims{}, s.shape());
  }
}

double EMA::next_decay() const {
  if (!decay_warmup_) return decay_;
  const double s = double(updates_);  // diffusers: step = optimization_step - 1, after += 1
  if (s <= 0) return 0.0;
  return std::min(decay_, (1.0 + s) / (10.0 + s));
}

void EMA::update(const NamedTensors& params) {
  check_same(params, "update");
  const double d = next_decay();
  ++updates_;
  NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& s = shadows_[i].second;
    mul_(s, d);
    add_(s, to(detach(params[i].second), s.dtype()), 1.0 - d);
  }
}

void EMA::copy_to(const NamedTensors& params) const {
  check_same(params, "copy_to");
  NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) copy_(params[i].second, shadows_[i].second);
}

NamedTensors EMA::state() const {
  NamedTensors out;
  for (const auto& [name, s] : shadows_) out.emplace_back(name, clone(s));
  return out;
}

void EMA::load_state(const NamedTensors& shadows, int64_t num_updates) {
  check_same(shadows, "load_state");
  TRIP_CHECK(num_updates >= 0, "EMA::load_state: negative num_updates {}", num_updates);
  NoGradGuard no_grad;
  for (size_t i = 0; i < shadows.size(); ++i) copy_(shadows_[i].second, shadows[i].second);
  updates_ = num_updates;
}

}  // namespace trip::nn
