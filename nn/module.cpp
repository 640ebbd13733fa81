#include "nn/module.h"

#include <fmt/format.h>

#include <map>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"

namespace trip::nn {

namespace {

std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

std::string join_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Points t's impl at `converted`'s storage and geometry. Every handle shares the impl, so a layer
// or optimizer holding t sees the change; requires_grad and the rest of the autograd information
// stay as they were.
void retarget(const Tensor& t, const Tensor& converted) {
  if (converted.is_same(t)) return;
  TensorImpl& impl = t.impl();
  const TensorImpl& src = converted.impl();
  impl.storage = src.storage;
  impl.shape = src.shape;
  impl.strides = src.strides;
  impl.offset = src.offset;
  impl.dtype = src.dtype;
  // A leaf's AccumulateGrad node remembers the dtype/device gradients are cast to; drop it so the
  // next backward makes one for the new placement (graphs built before the change are stale).
  if (impl.autograd) impl.autograd->grad_accumulator.reset();
}

template <typename Convert>
void convert_in_place(const Tensor& t, Convert convert) {
  NoGradGuard no_grad;  // a conversion of a leaf is not part of any graph
  Tensor grad = t.grad();
  retarget(t, convert(t));
  if (grad.defined()) Tensor(t).set_grad(convert(grad));  // handles share the impl
}

}  // namespace

void Module::check_new_name(const std::string& name) const {
  TRIP_CHECK(!name.empty() && name.find('.') == std::string::npos,
             "{}: invalid name '{}' (non-empty, no dots: dots join the names of the tree)",
             type_name_, name);
  auto taken = [&](const auto& list) {
    for (const auto& [n, _] : list)
      if (n == name) return true;
    return false;
  };
  TRIP_CHECK(!taken(children_) && !taken(parameters_) && !taken(buffers_),
             "{}: the name '{}' is already registered", type_name_, name);
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_new_name(name);
  TRIP_CHECK(module != nullptr, "{}: register_module('{}') with a null module", type_name_, name);
  children_.emplace_back(name, std::move(module));
}

Tensor Module::register_parameter(const std::string& name, Tensor tensor, bool requires_grad) {
  check_new_name(name);
  TRIP_CHECK(tensor.defined(), "{}: register_parameter('{}') with an undefined tensor", type_name_,
             name);
  tensor.set_requires_grad(requires_grad);
  parameters_.emplace_back(name, tensor);
  return tensor;
}

Tensor Module::register_buffer(const std::string& name, Tensor tensor) {
  check_new_name(name);
  TRIP_CHECK(tensor.defined(), "{}: register_buffer('{}') with an undefined tensor", type_name_,
             name);
  buffers_.emplace_back(name, tensor);
  return tensor;
}

// Own tensors first, then each child's, the order of torch's named_parameters/state_dict.
void Module::collect(const std::string& prefix, bool params, bool buffers,
                     NamedTensors& out) const {
  if (params)
    for (const auto& [name, t] : parameters_) out.emplace_back(join(prefix, name), t);
  if (buffers)
    for (const auto& [name, t] : buffers_) out.emplace_back(join(prefix, name), t);
  for (const auto& [name, child] : children_)
    child->collect(join(prefix, name), params, buffers, out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", true, false, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [_, t] : named_parameters()) out.push_back(t);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", false, true, out);
  return out;
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  collect("", true, true, out);
  return out;
}

std::vector<std::pair<std::string, const Module*>> Module::named_modules() const {
  std::vector<std::pair<std::string, const Module*>> out{{"", this}};
  for (const auto& [name, child] : children_)
    for (auto& [sub, m] : child->named_modules())
      out.emplace_back(sub.empty() ? name : name + "." + sub, m);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const auto& [_, t] : named_parameters()) n += t.numel();
  return n;
}

LoadReport Module::load_state_dict(const NamedTensors& tensors, bool strict) {
  std::map<std::string, const Tensor*> given;
  for (const auto& [name, t] : tensors) given[name] = &t;

  LoadReport report;
  std::vector<std::string> mismatched;
  std::vector<std::pair<Tensor, Tensor>> copies;  // (destination, source), done after all checks
  for (const auto& [name, dst] : state_dict()) {
    auto it = given.find(name);
    if (it == given.end()) {
      report.missing.push_back(name);
      continue;
    }
    const Tensor& src = *it->second;
    if (src.shape() != dst.shape())
      mismatched.push_back(fmt::format("{} (model {}, given {})", name, dst.shape(), src.shape()));
    else
      copies.emplace_back(dst, src);
    given.erase(it);
  }
  for (const auto& [name, _] : given) report.unexpected.push_back(name);

  // Nothing is copied unless the load is accepted, so a failed load leaves the model unchanged.
  TRIP_CHECK(mismatched.empty(), "load_state_dict: shape mismatch for {}", join_list(mismatched));
  TRIP_CHECK(!strict || report.ok(), "load_state_dict (strict): missing keys [{}], unexpected [{}]",
             join_list(report.missing), join_list(report.unexpected));
  NoGradGuard no_grad;  // copy_ into parameters that require grad is an update, not an op
  for (const auto& [dst, src] : copies) copy_(dst, src);
  return report;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [_, child] : children_) child->train(on);
}

void Module::to(Device device) {
  for (const auto& [_, t] : state_dict())
    convert_in_place(t, [&](const Tensor& x) { return ops::to(x, device); });
}

void Module::to(DType dtype) {
  TRIP_CHECK(is_floating(dtype), "Module::to: {} is not a floating-point dtype", dtype);
  for (const auto& [_, t] : state_dict())
    if (is_floating(t.dtype()))
      convert_in_place(t, [&](const Tensor& x) { return ops::to(x, dtype); });
}

void Module::set_requires_grad(bool on) {
  for (auto& [_, t] : named_parameters()) t.set_requires_grad(on);
}

void Module::print(const std::string& name, int depth, std::string& out) const {
  std::string indent(2 * depth, ' ');
  std::string label = name.empty() ? "" : "(" + name + "): ";
  out += fmt::format("{}{}{}({}) [{} params]\n", indent, label, type_name_, extra_repr(),
                     num_parameters());
  for (const auto& [child_name, child] : children_) child->print(child_name, depth + 1, out);
}

std::string Module::to_string() const {
  std::string out;
  print("", 0, out);
  return out;
}

std::shared_ptr<Module> ModuleList::operator[](size_t i) const {
  TRIP_CHECK(i < size(), "ModuleList: index {} out of range for {} entries", i, size());
  return children_[i].second;
}

void ModuleList::check_type(size_t i, bool ok) const {
  TRIP_CHECK(ok, "ModuleList::at({}): the entry is a {}, not the requested type", i,
             children_[i].second->type_name());
}

}  // namespace trip::nn
