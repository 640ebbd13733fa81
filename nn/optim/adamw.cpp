// AdamW: the step (fused kernels of ops::adamw_step_ or the generic in-place-ops path), and
// state export/import.
#include "nn/optim/adamw.h"

#include <cmath>
#include <set>

#include "autograd/functions.h"
#include "tensor/error.h"

namespace trip::nn {
namespace {

AdamWCoefficients coefficients(const ParamGroup& g, int64_t step) {
  double bc1 = 1.0 - std::pow(g.beta1, double(step));
  double bc2 = 1.0 - std::pow(g.beta2, double(step));
  AdamWCoefficients c;
  c.decay = 1.0 - g.lr * g.weight_decay;
  c.beta1 = g.beta1;
  c.one_minus_beta1 = 1.0 - g.beta1;
  c.beta2 = g.beta2;
  c.one_minus_beta2 = 1.0 - g.beta2;
  c.bc2_sqrt = std::sqrt(bc2);
  c.eps = g.eps;
  c.neg_step_size = -(g.lr / bc1);
  return c;
}

// The same update with in-place tensor ops: any device and dtype, ~10 kernel launches. Used for
// f16/bf16 and strided parameters; f32/f64 take the fused kernels of ops::adamw_step_.
void generic_update(const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v,
                    const AdamWCoefficients& c) {
  mul_(p, c.decay);
  mul_(m, c.beta1);
  add_(m, g, c.one_minus_beta1);
  mul_(v, c.beta2);
  add_(v, g * g, c.one_minus_beta2);
  Tensor denom = trip::sqrt(v) / c.bc2_sqrt + c.eps;
  add_(p, m / denom, c.neg_step_size);
}

bool fusable(const Tensor& p, const Tensor& g) {
  return (p.dtype() == DType::f32 || p.dtype() == DType::f64) && p.is_contiguous() &&
         g.is_contiguous() && g.dtype() == p.dtype() && g.device() == p.device();
}

}  // namespace

AdamW::AdamW(std::vector<ParamGroup> groups) : groups_(std::move(groups)) {
  std::set<std::string> group_names, param_names;
  for (const ParamGroup& g : groups_) {
    TRIP_CHECK(group_names.insert(g.name).second, "AdamW: duplicate parameter group '{}'", g.name);
    TRIP_CHECK(g.lr >= 0 && g.eps >= 0 && g.weight_decay >= 0,
               "AdamW: group '{}' has a negative lr ({}), eps ({}) or weight decay ({})", g.name,
               g.lr, g.eps, g.weight_decay);
    TRIP_CHECK(g.beta1 >= 0 && g.beta1 < 1 && g.beta2 >= 0 && g.beta2 < 1,
               "AdamW: group '{}' has betas ({}, {}) outside [0, 1)", g.name, g.beta1, g.beta2);
    for (const auto& [name, p] : g.params) {
      TRIP_CHECK(p.defined(), "AdamW: parameter '{}' of group '{}' is undefined", name, g.name);
      TRIP_CHECK(is_floating(p.dtype()), "AdamW: parameter '{}' has dtype {}, expected floating",
                 name, p.dtype());
      TRIP_CHECK(param_names.insert(name).second, "AdamW: parameter '{}' appears twice", name);
    }
  }
  for (const ParamGroup& g : groups_) slots_.emplace_back(g.params.size());
}

void AdamW::step() {
  NoGradGuard no_grad;  // in-place updates of leaves that require grad
  // Fusable parameters, per device: one fused pass (CPU) or launch per dtype (CUDA) each.
  std::vector<std::pair<Device, std::vector<AdamWTensors>>> fused;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const ParamGroup& group = groups_[gi];
    for (size_t pi = 0; pi < group.params.size(); ++pi) {
      const auto& [name, p] = group.params[pi];
      Tensor g = p.grad();
      if (!g.defined()) continue;  // PyTorch skips parameters without a gradient
      TRIP_CHECK(g.shape() == p.shape(), "AdamW: gradient of '{}' has shape {}, parameter {}", name,
                 g.shape(), p.shape());
      Slot& s = slots_[gi][pi];
      if (!s.exp_avg.defined()) {
        s.exp_avg = zeros_like(p);
        s.exp_avg_sq = zeros_like(p);
      }
      s.step += 1;
      AdamWCoefficients c = coefficients(group, s.step);
      // set_grad guarantees p's dtype and device; a strided gradient is copied once so the
      // parameter still takes the fused step.
      g = contiguous(g);
      if (fusable(p, g)) {
        size_t d = 0;
        while (d < fused.size() && fused[d].first != p.device()) ++d;
        if (d == fused.size()) fused.emplace_back(p.device(), std::vector<AdamWTensors>{});
        fused[d].second.push_back({p, g, s.exp_avg, s.exp_avg_sq, c});
      } else {
        generic_update(p, g, s.exp_avg, s.exp_avg_sq, c);
      }
    }
  }
  for (const auto& [device, params] : fused) ops::adamw_step_(params);
}

void AdamW::zero_grad() {
  for (ParamGroup& g : groups_) {
    for (auto& [name, p] : g.params) p.set_grad(Tensor());
  }
}

size_t AdamW::group_index(const std::string& name) const {
  for (size_t i = 0; i < groups_.size(); ++i) {
    if (groups_[i].name == name) return i;
  }
  std::string known;
  for (const ParamGroup& g : groups_) known += (known.empty() ? "" : ", ") + g.name;
  fail("AdamW: no parameter group '{}' (groups: {})", name, known);
}

void AdamW::set_lr(const std::string& group, double lr) {
  TRIP_CHECK(lr >= 0, "AdamW::set_lr: negative lr {} for group '{}'", lr, group);
  groups_[group_index(group)].lr = lr;
}

double AdamW::lr(const std::string& group) const { return groups_[group_index(group)].lr; }

std::vector<GroupState> AdamW::export_state() const {
  std::vector<GroupState> out;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const ParamGroup& g = groups_[gi];
    GroupState gs{g.name, g.lr, g.beta1, g.beta2, g.eps, g.weight_decay, {}};
    for (size_t pi = 0; pi < g.params.size(); ++pi) {
      const Slot& s = slots_[gi][pi];
      if (!s.exp_avg.defined()) continue;
      gs.params.push_back({g.params[pi].first, clone(s.exp_avg), clone(s.exp_avg_sq), s.step});
    }
    out.push_back(std::move(gs));
  }
  return out;
}

void AdamW::import_state(const std::vector<GroupState>& state) {
  TRIP_CHECK(state.size() == groups_.size(), "AdamW::import_state: {} groups in the state, {} here",
             state.size(), groups_.size());
  // Validate everything first, building the new slots aside.
  std::vector<std::vector<Slot>> slots;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const ParamGroup& g = groups_[gi];
    const GroupState& gs = state[gi];
    TRIP_CHECK(gs.name == g.name, "AdamW::import_state: group {} is '{}' in the state, '{}' here",
               gi, gs.name, g.name);
    slots.emplace_back(g.params.size());
    for (const ParamState& ps : gs.params) {
      size_t pi = 0;
      while (pi < g.params.size() && g.params[pi].first != ps.name) ++pi;
      TRIP_CHECK(pi < g.params.size(), "AdamW::import_state: group '{}' has no parameter '{}'",
                 g.name, ps.name);
      const Tensor& p = g.params[pi].second;
      for (const Tensor* t : {&ps.exp_avg, &ps.exp_avg_sq}) {
        TRIP_CHECK(t->defined() && t->shape() == p.shape(),
                   "AdamW::import_state: moment of '{}' has shape {}, the parameter {}", ps.name,
                   t->defined() ? t->shape() : Dims{}, p.shape());
      }
      TRIP_CHECK(ps.step > 0, "AdamW::import_state: '{}' has step {}, expected > 0", ps.name,
                 ps.step);
      Slot& s = slots.back()[pi];
      TRIP_CHECK(!s.exp_avg.defined(), "AdamW::import_state: '{}' appears twice", ps.name);
      // Own copies, in the parameter's dtype and on its device.
      s.exp_avg = clone(to(to(ps.exp_avg, p.device()), p.dtype()));
      s.exp_avg_sq = clone(to(to(ps.exp_avg_sq, p.device()), p.dtype()));
      s.step = ps.step;
    }
  }
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    ParamGroup& g = groups_[gi];
    const GroupState& gs = state[gi];
    g.lr = gs.lr;
    g.beta1 = gs.beta1;
    g.beta2 = gs.beta2;
    g.eps = gs.eps;
    g.weight_decay = gs.weight_decay;
  }
  slots_ = std::move(slots);
}

}  // namespace trip::nn
