// defines: Tensor, a cheap handle (one shared_ptr) to a TensorImpl: storage plus shape, strides,
// offset and dtype. Copying a Tensor shares the same impl, so a `.grad()` set through one handle is
// seen through every copy. Views share storage but have their own impl.
//
// The tensor layer knows nothing of gradients; the autograd methods declared at the end are
// defined in autograd/tensor_autograd.cpp and only usable when linking the autograd library.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "tensor/device.h"
#include "tensor/dims.h"
#include "tensor/dtype.h"
#include "tensor/storage.h"

namespace trip {

struct AutogradMeta;  // defined in autograd/
struct Node;          // defined in autograd/

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Dims shape;
  Dims strides;        // in elements; 0 for broadcast dims
  int64_t offset = 0;  // in elements
  DType dtype = DType::f32;
  std::shared_ptr<AutogradMeta> autograd;  // null until autograd attaches information
};

struct TensorOptions {
  DType dtype = DType::f32;
  Device device = kCPU;
  TensorOptions() = default;
  TensorOptions(DType t) : dtype(t) {}    // NOLINT: lets `zeros({2}, DType::f64)` read naturally
  TensorOptions(Device d) : device(d) {}  // NOLINT
  TensorOptions(DType t, Device d) : dtype(t), device(d) {}
};

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor (no storage), e.g. "no gradient"
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  const Dims& shape() const { return impl().shape; }
  const Dims& strides() const { return impl().strides; }
  int dim() const { return impl().shape.size(); }
  int64_t size(int64_t dim) const;  // negative dims count from the end
  int64_t stride(int64_t dim) const;
  int64_t numel() const { return numel_of(impl().shape); }
  int64_t offset() const { return impl().offset; }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  bool is_cuda() const { return device().is_cuda(); }
  TensorOptions options() const { return {dtype(), device()}; }
  bool is_contiguous() const;
  size_t nbytes() const { return size_t(numel()) * element_size(dtype()); }

  // Address of the first element (storage base + offset).
  void* data_ptr() const;
  // Typed pointer to the first element; the dtype must match T.
  template <typename T>
  T* data() const {
    TRIP_CHECK(dtype() == dtype_of<T>(), "data<T>(): tensor has dtype {}, asked for {}", dtype(),
               dtype_of<T>());
    return static_cast<T*>(data_ptr());
  }
  const std::shared_ptr<Storage>& storage() const { return impl().storage; }
  TensorImpl& impl() const {
    TRIP_CHECK(impl_ != nullptr, "operation on an undefined tensor");
    return *impl_;
  }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

  // A view over the same storage with new geometry (checked against the storage's size).
  Tensor as_strided(const Dims& shape, const Dims& strides, int64_t offset) const;

  // Value of a one-element tensor, converted to T (copies from the device when needed).
  template <typename T = double>
  T item() const;
  // All elements in row-major order, converted to T (copies from the device when needed).
  template <typename T>
  std::vector<T> to_vector() const;

  // --- autograd (defined in autograd/tensor_autograd.cpp) ---
  bool requires_grad() const;
  Tensor& set_requires_grad(bool on = true);
  Tensor grad() const;             // undefined until a backward reached this leaf
  void set_grad(const Tensor& g);  // undefined g clears it (zero_grad)
  bool is_leaf() const;
  std::shared_ptr<Node> grad_fn() const;
  // Backward from this tensor: scalar (gradient 1) or with the given gradient of the same shape.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// Wraps new storage as a contiguous tensor of this shape (contents uninitialised).
Tensor empty(const Dims& shape, TensorOptions options = {});
Tensor empty_like(const Tensor& t);
// A new contiguous tensor wrapping host data (copied; converted to options.dtype; moved to
// options.device). data.size() must equal the shape's element count.
template <typename T>
Tensor from_vector(const std::vector<T>& data, const Dims& shape, TensorOptions options = {});
Tensor scalar_tensor(double value, TensorOptions options = {});

}  // namespace trip
