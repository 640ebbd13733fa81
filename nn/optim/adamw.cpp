// AdamW: the fused CPU loop, the generic in-place-ops path, and state export/import.
#include "nn/optim/adamw.h"

#include <cmath>
#include <set>

#include "autograd/functions.h"
#include "tensor/cpu/parallel.h"
#include "tensor/error.h"

namespace trip::nn {
namespace {

// The scalars of one parameter's update, computed in double once per step (as PyTorch does in
// Python) and cast to the parameter's dtype inside the loop (as PyTorch's kernels do).
struct Coefficients {
  double decay, beta1, one_minus_beta1, beta2, one_minus_beta2, bc2_sqrt, eps, neg_step_size;
};

Coefficients coefficients(const ParamGroup& g, int64_t step) {
  double bc1 = 1.0 - std::pow(g.beta1, double(step));
  double bc2 = 1.0 - std::pow(g.beta2, double(step));
  return {1.0 - g.lr * g.weight_decay,
          g.beta1,
          1.0 - g.beta1,
          g.beta2,
          1.0 - g.beta2,
          std::sqrt(bc2),
          g.eps,
          -(g.lr / bc1)};
}

// One parameter's share of the fused loop.
struct FusedJob {
  DType dtype;
  void *p, *m, *v;
  const void* g;
  int64_t numel;
  Coefficients c;
};

// Each element is read once and written once; the arithmetic follows PyTorch's op order
// (mul_, add_ with alpha, addcmul_, sqrt / bc2_sqrt + eps, addcdiv_) so f64 agrees to rounding.
template <typename T>
void fused_update(const FusedJob& job, int64_t begin, int64_t end) {
  T* p = static_cast<T*>(job.p);
  T* m = static_cast<T*>(job.m);
  T* v = static_cast<T*>(job.v);
  const T* g = static_cast<const T*>(job.g);
  const T decay = T(job.c.decay), b1 = T(job.c.beta1), ob1 = T(job.c.one_minus_beta1);
  const T b2 = T(job.c.beta2), ob2 = T(job.c.one_minus_beta2), bc2_sqrt = T(job.c.bc2_sqrt);
  const T eps = T(job.c.eps), neg_step = T(job.c.neg_step_size);
  // omp simd: the four arrays never alias (distinct tensors); with the project's -fno-math-errno
  // the sqrt vectorises too.
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) {
    const T gi = g[i];
    const T mi = m[i] * b1 + ob1 * gi;
    const T vi = v[i] * b2 + ob2 * gi * gi;
    const T denom = std::sqrt(vi) / bc2_sqrt + eps;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * decay + neg_step * (mi / denom);
  }
}

// The same update with in-place tensor ops: any device and dtype, ~10 kernel launches.
// TODO(issue 3): a fused multi-tensor CUDA kernel; CUDA parameters take this path for now.
void generic_update(const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v,
                    const Coefficients& c) {
  mul_(p, c.decay);
  mul_(m, c.beta1);
  add_(m, g, c.one_minus_beta1);
  mul_(v, c.beta2);
  add_(v, g * g, c.one_minus_beta2);
  Tensor denom = trip::sqrt(v) / c.bc2_sqrt + c.eps;
  add_(p, m / denom, c.neg_step_size);
}

bool fusable(const Tensor& p, const Tensor& g) {
  return p.device().is_cpu() && (p.dtype() == DType::f32 || p.dtype() == DType::f64) &&
         p.is_contiguous() && g.is_contiguous() && g.dtype() == p.dtype() && g.device().is_cpu();
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
  std::vector<FusedJob> jobs;
  std::vector<Tensor> keep_alive;  // contiguous copies of strided gradients used by jobs
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
      Coefficients c = coefficients(group, s.step);
      if (p.device().is_cpu() && g.dtype() == p.dtype() && !g.is_contiguous()) {
        g = contiguous(g);
        keep_alive.push_back(g);
      }
      if (fusable(p, g)) {
        jobs.push_back({p.dtype(), p.data_ptr(), s.exp_avg.data_ptr(), s.exp_avg_sq.data_ptr(),
                        g.data_ptr(), p.numel(), c});
        // The fused loop writes raw memory: tell autograd, as the in-place ops do.
        p.storage()->bump_version();
      } else {
        generic_update(p, to(g, p.dtype()), s.exp_avg, s.exp_avg_sq, c);
      }
    }
  }
  if (jobs.empty()) return;
  // One parallel loop over fixed-size chunks of all parameters together, so the many small
  // tensors of a UNet share the threads instead of each running serially.
  struct Chunk {
    size_t job;
    int64_t begin, end;
  };
  std::vector<Chunk> chunks;
  for (size_t j = 0; j < jobs.size(); ++j) {
    const int64_t n = jobs[j].numel, grain = cpu::kElementwiseGrain;
    for (int64_t b = 0; b < n; b += grain) chunks.push_back({j, b, std::min(n, b + grain)});
  }
  cpu::parallel_for(int64_t(chunks.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      const Chunk& ch = chunks[k];
      if (jobs[ch.job].dtype == DType::f32) {
        fused_update<float>(jobs[ch.job], ch.begin, ch.end);
      } else {
        fused_update<double>(jobs[ch.job], ch.begin, ch.end);
      }
    }
  });
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
