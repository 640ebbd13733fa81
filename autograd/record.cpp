#include "autograd/record.h"

#include <algorithm>

namespace trip {

static thread_local RequiresGradProbe* active_probe = nullptr;

RequiresGradProbe::RequiresGradProbe() : previous_(active_probe) { active_probe = this; }
RequiresGradProbe::~RequiresGradProbe() {
  active_probe = previous_;
  if (previous_ && seen_) previous_->seen_ = true;
}

static bool any_requires_grad(std::span<const Tensor> inputs) {
  return std::any_of(inputs.begin(), inputs.end(),
                     [](const Tensor& t) { return t.defined() && t.requires_grad(); });
}

void note_inputs_without_grad_mode(std::span<const Tensor> inputs) {
  if (active_probe && !active_probe->seen_ && any_requires_grad(inputs)) active_probe->seen_ = true;
}

bool should_record(std::span<const Tensor> inputs) {
  if (!is_grad_enabled()) {
    note_inputs_without_grad_mode(inputs);
    return false;
  }
  return any_requires_grad(inputs);
}

std::vector<Tensor> record_outputs(std::string_view name, std::vector<Tensor> outputs,
                                   std::span<const Tensor> inputs,
                                   std::function<Grads(const Grads& grad_outputs)> backward,
                                   bool force) {
  if (!should_record(inputs) && !(force && is_grad_enabled())) return outputs;
  auto node = std::make_shared<Node>();
  node->name = name;
  for (const Tensor& input : inputs)
    node->next.push_back(input.defined() ? gradient_edge(input) : Edge{});
  node->backward = [fn = std::move(backward)](std::vector<Tensor>& grads) { return fn(grads); };
  for (size_t i = 0; i < outputs.size(); ++i) {
    Tensor& out = outputs[i];
    node->outputs.push_back({out.shape(), out.dtype(), out.device()});
    if (!is_floating(out.dtype())) continue;
    // An op may return one of its inputs itself (contiguous() of a contiguous tensor), or a
    // tensor that already has a history; give the output its own handle before attaching ours.
    bool shared = autograd_meta(out) ||
                  std::any_of(inputs.begin(), inputs.end(),
                              [&](const Tensor& t) { return t.defined() && t.is_same(out); });
    if (shared) out = alias_without_autograd(out);
    AutogradMeta& meta = ensure_autograd_meta(out);
    meta.grad_fn = node;
    meta.output_nr = int(i);
  }
  return outputs;
}

Tensor record(std::string_view name, const Tensor& output, std::span<const Tensor> inputs,
              std::function<Grads(const Tensor& grad_output)> backward) {
  if (!is_floating(output.dtype()) || !should_record(inputs)) return output;
  auto multi = [fn = std::move(backward)](const Grads& grads) { return fn(grads[0]); };
  return record_outputs(name, {output}, inputs, std::move(multi))[0];
}

}  // namespace trip
