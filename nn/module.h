// defines: Module, the node of a model tree (named children, parameters, buffers), and
// ModuleList. A parameter's dotted name is the path of registration names from the root
// (`down_blocks.0.resnets.0.norm1.weight`), chosen to equal diffusers'/PyTorch's names so that
// published safetensors load by name (the idea of stable-diffusion.cpp's GGMLBlock).
//
// Layers keep their own Tensor handles to the parameters they register. Handles share one
// TensorImpl, so `to(DType)` / `to(Device)` change the impl in place and every handle (layer,
// optimizer) sees the new dtype/device. Forward functions are plain methods of each layer (their
// signatures differ), not a virtual of Module.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/state.h"
#include "tensor/tensor.h"

namespace trip::nn {

// What load_state_dict found, beyond the keys it copied.
struct LoadReport {
  std::vector<std::string> missing;     // in the model, absent from the given tensors
  std::vector<std::string> unexpected;  // given, with no such name in the model
  bool ok() const { return missing.empty() && unexpected.empty(); }
};

class Module {
 public:
  explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;  // parameters are shared handles: a copy would alias them
  Module& operator=(const Module&) = delete;

  const std::string& type_name() const { return type_name_; }

  // ---- the tree; every list is in registration order, recursive ones depth first ----
  NamedTensors named_parameters() const;
  std::vector<Tensor> parameters() const;
  NamedTensors named_buffers() const;
  NamedTensors state_dict() const;  // parameters then buffers of each module, like PyTorch
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const {
    return children_;
  }
  // This module ("") and every descendant with its dotted name.
  std::vector<std::pair<std::string, const Module*>> named_modules() const;
  int64_t num_parameters() const;  // elements over all parameters

  // Copies values into the existing tensors (converting dtype and device), so handles stay
  // valid. A shape mismatch always throws (PyTorch does the same); missing or unexpected names
  // throw when strict, else they are reported.
  LoadReport load_state_dict(const NamedTensors& tensors, bool strict = true);

  // ---- modes and placement ----
  void train(bool on = true);  // recursive, like nn.Module.train
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // In place on every parameter and buffer (and a parameter's gradient); to(DType) changes only
  // floating-point tensors, as PyTorch does (index buffers keep their integer type).
  void to(Device device);
  void to(DType dtype);
  // Freezing: sets requires_grad on every parameter of the subtree.
  void set_requires_grad(bool on);

  // The module tree, one line per module: `(name): Type(config) [N params]`, like torch's repr.
  std::string to_string() const;
  // The configuration shown in to_string (e.g. `in_features=3, out_features=4`).
  virtual std::string extra_repr() const { return ""; }

 protected:
  // Registers a child under `name` and returns it typed, so layers write
  // `proj = register_module("proj", std::make_shared<Linear>(3, 4));`.
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }
  // Registers a trainable tensor (requires_grad set) and returns the same handle.
  Tensor register_parameter(const std::string& name, Tensor tensor, bool requires_grad = true);
  // Registers state that is saved but not trained (e.g. running statistics, fixed tables).
  Tensor register_buffer(const std::string& name, Tensor tensor);

 private:
  friend class ModuleList;
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void check_new_name(const std::string& name) const;
  void collect(const std::string& prefix, bool params, bool buffers, NamedTensors& out) const;
  void print(const std::string& name, int depth, std::string& out) const;

  std::string type_name_;
  bool training_ = true;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  NamedTensors parameters_;
  NamedTensors buffers_;
};

// An indexed list of modules named "0", "1", ... (torch.nn.ModuleList; also stands in for
// nn.Sequential in names such as `to_out.0.weight`, since names are all that matter for loading).
class ModuleList : public Module {
 public:
  ModuleList() : Module("ModuleList") {}
  template <typename M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    add_child(std::to_string(size()), module);
    return module;
  }
  size_t size() const { return children_.size(); }
  std::shared_ptr<Module> operator[](size_t i) const;
  // The i-th entry as its concrete type; throws when it is another type.
  template <typename M>
  std::shared_ptr<M> at(size_t i) const {
    auto typed = std::dynamic_pointer_cast<M>((*this)[i]);
    check_type(i, typed != nullptr);
    return typed;
  }

 private:
  void check_type(size_t i, bool ok) const;
};

}  // namespace trip::nn
