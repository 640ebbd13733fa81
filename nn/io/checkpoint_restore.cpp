// restore_checkpoint() (declared in nn/io/checkpoint.h): resuming training into live tensors. All
// checks run before anything is written, so a mismatched checkpoint leaves the state untouched.
#include <unordered_map>

#include "nn/io/checkpoint.h"

namespace trip::nn {

namespace {

// Appends a problem when `loaded` cannot be copied into `target` (both defined).
void compare(const std::string& what, const Tensor& target, const Tensor& loaded,
             std::vector<std::string>& problems) {
  if (!(target.shape() == loaded.shape()) || target.dtype() != loaded.dtype())
    problems.push_back(fmt::format("{}: checkpoint has {} {}, expected {} {}", what, loaded.dtype(),
                                   loaded.shape(), target.dtype(), target.shape()));
}

void assign(Tensor& target, const Tensor& loaded) {
  if (!loaded.defined()) return;
  if (target.defined())
    ops::copy_(target, loaded);  // in place: the optimizer and model keep their handles
  else
    target = loaded;
}

}  // namespace

void restore_checkpoint(const std::string& path, TrainingState& state) {
  TrainingState loaded = load_checkpoint(path);
  std::vector<std::string> problems;

  std::unordered_map<std::string, const Tensor*> model;
  for (const auto& [name, t] : loaded.model) model.emplace(name, &t);
  for (const auto& [name, t] : state.model) {
    auto it = model.find(name);
    if (it == model.end()) {
      problems.push_back(fmt::format("model tensor {}: missing from the checkpoint", name));
      continue;
    }
    compare("model tensor " + name, t, *it->second, problems);
    model.erase(it);
  }
  for (const auto& [name, t] : loaded.model)
    if (model.count(name)) problems.push_back(fmt::format("model tensor {}: unexpected", name));

  // A fresh optimizer may not list its groups yet: then the checkpoint's are taken as they are.
  std::unordered_map<std::string, GroupState*> groups;
  for (GroupState& g : loaded.optimizer) groups.emplace(g.name, &g);
  for (GroupState& g : state.optimizer) {
    auto it = groups.find(g.name);
    if (it == groups.end()) {
      problems.push_back(fmt::format("optimizer group {}: missing from the checkpoint", g.name));
      continue;
    }
    std::unordered_map<std::string, ParamState*> params;
    for (ParamState& p : it->second->params) params.emplace(p.name, &p);
    for (ParamState& p : g.params) {
      std::string what = "optimizer " + g.name + "/" + p.name;
      auto pit = params.find(p.name);
      if (pit == params.end()) {
        problems.push_back(what + ": missing from the checkpoint");
        continue;
      }
      for (auto [target, source, field] :
           {std::tuple{&p.exp_avg, &pit->second->exp_avg, "exp_avg"},
            std::tuple{&p.exp_avg_sq, &pit->second->exp_avg_sq, "exp_avg_sq"}})
        if (target->defined() && source->defined())
          compare(what + "/" + field, *target, *source, problems);
    }
    if (!g.params.empty() && g.params.size() != it->second->params.size())
      problems.push_back(fmt::format("optimizer group {}: checkpoint has {} params, expected {}",
                                     g.name, it->second->params.size(), g.params.size()));
  }
  if (!state.optimizer.empty() && state.optimizer.size() != loaded.optimizer.size())
    problems.push_back(fmt::format("checkpoint has {} optimizer groups, expected {}",
                                   loaded.optimizer.size(), state.optimizer.size()));
  if (!problems.empty()) {
    std::string list;
    for (const auto& p : problems) list += "\n  " + p;
    fail("restore_checkpoint {}: does not match the training state; nothing was restored:{}", path,
         list);
  }

  for (const auto& [name, t] : loaded.model) model.emplace(name, &t);
  for (auto& [name, target] : state.model) ops::copy_(target, *model.at(name));
  if (state.optimizer.empty()) {
    state.optimizer = std::move(loaded.optimizer);
  } else {
    for (GroupState& g : state.optimizer) {
      GroupState& from = *groups.at(g.name);
      g.lr = from.lr;
      g.beta1 = from.beta1;
      g.beta2 = from.beta2;
      g.eps = from.eps;
      g.weight_decay = from.weight_decay;
      if (g.params.empty()) {
        g.params = std::move(from.params);
        continue;
      }
      std::unordered_map<std::string, ParamState*> params;
      for (ParamState& p : from.params) params.emplace(p.name, &p);
      for (ParamState& p : g.params) {
        ParamState& src = *params.at(p.name);
        assign(p.exp_avg, src.exp_avg);
        assign(p.exp_avg_sq, src.exp_avg_sq);
        p.step = src.step;
      }
    }
  }
  state.step = loaded.step;
  state.config_json = loaded.config_json;
  state.rng = loaded.rng;
  state.ema = std::move(loaded.ema);
  state.ema_updates = loaded.ema_updates;
}

}  // namespace trip::nn
