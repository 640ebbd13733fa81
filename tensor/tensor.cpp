#include "tensor/tensor.h"

#include "tensor/backend.h"
#include "tensor/ops.h"

namespace trip {

int64_t Tensor::size(int64_t d) const { return shape()[wrap_dim(d, dim(), "size")]; }
int64_t Tensor::stride(int64_t d) const { return strides()[wrap_dim(d, dim(), "stride")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  const TensorImpl& t = impl();
  for (int i = t.shape.size() - 1; i >= 0; --i) {
    if (t.shape[i] == 1) continue;  // the stride of a size-1 dim never matters
    if (t.strides[i] != expected) return false;
    expected *= t.shape[i];
  }
  return true;
}

void* Tensor::data_ptr() const {
  const TensorImpl& t = impl();
  return static_cast<char*>(t.storage->data()) + t.offset * int64_t(element_size(t.dtype));
}

Tensor Tensor::as_strided(const Dims& shape, const Dims& strides, int64_t offset) const {
  TRIP_CHECK(shape.size() == strides.size(), "as_strided: shape {} and strides {} differ in rank",
             shape, strides);
  int64_t last = offset;  // highest element index the view can touch
  for (int i = 0; i < shape.size(); ++i) {
    TRIP_CHECK(shape[i] >= 0, "as_strided: negative size in shape {}", shape);
    TRIP_CHECK(strides[i] >= 0, "as_strided: negative stride in strides {}", strides);
    if (shape[i] == 0) last = offset - 1;
    if (last >= offset) last += (shape[i] - 1) * strides[i];
  }
  int64_t capacity = int64_t(storage()->nbytes() / element_size(dtype()));
  // An empty view touches no element, so only its offset's sign matters.
  TRIP_CHECK(offset >= 0 && (last < offset || last < capacity),
             "as_strided: view (shape {}, strides {}, offset {}) exceeds storage of {} elements",
             shape, strides, offset, capacity);
  auto view = std::make_shared<TensorImpl>();
  view->storage = storage();
  view->shape = shape;
  view->strides = strides;
  view->offset = offset;
  view->dtype = dtype();
  return Tensor(std::move(view));
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  Tensor host = ops::contiguous(ops::to(ops::to(*this, kCPU), dtype_of<T>()));
  const T* p = host.data<T>();
  return std::vector<T>(p, p + host.numel());
}

template <typename T>
T Tensor::item() const {
  TRIP_CHECK(numel() == 1, "item(): tensor of shape {} has {} elements, expected 1", shape(),
             numel());
  return to_vector<T>()[0];
}

#define TRIP_INSTANTIATE(T)                             \
  template std::vector<T> Tensor::to_vector<T>() const; \
  template T Tensor::item<T>() const;
TRIP_INSTANTIATE(float)
TRIP_INSTANTIATE(double)
TRIP_INSTANTIATE(bf16)
TRIP_INSTANTIATE(f16)
TRIP_INSTANTIATE(int32_t)
TRIP_INSTANTIATE(int64_t)
TRIP_INSTANTIATE(uint8_t)
TRIP_INSTANTIATE(bool)
#undef TRIP_INSTANTIATE

Tensor empty(const Dims& shape, TensorOptions options) {
  for (int64_t s : shape) TRIP_CHECK(s >= 0, "empty: negative size in shape {}", shape);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage =
      Storage::allocate(size_t(numel_of(shape)) * element_size(options.dtype), options.device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = options.dtype;
  return Tensor(std::move(impl));
}

Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.options()); }

template <typename T>
Tensor from_vector(const std::vector<T>& data, const Dims& shape, TensorOptions options) {
  TRIP_CHECK(int64_t(data.size()) == numel_of(shape),
             "from_vector: {} values given for shape {} ({} elements)", data.size(), shape,
             numel_of(shape));
  Tensor host = empty(shape, TensorOptions(dtype_of<T>(), kCPU));
  std::copy(data.begin(), data.end(), host.data<T>());
  return ops::to(ops::to(host, options.dtype), options.device);
}

template Tensor from_vector(const std::vector<float>&, const Dims&, TensorOptions);
template Tensor from_vector(const std::vector<double>&, const Dims&, TensorOptions);
template Tensor from_vector(const std::vector<int32_t>&, const Dims&, TensorOptions);
template Tensor from_vector(const std::vector<int64_t>&, const Dims&, TensorOptions);
template Tensor from_vector(const std::vector<uint8_t>&, const Dims&, TensorOptions);
template Tensor from_vector(const std::vector<bf16>&, const Dims&, TensorOptions);
template Tensor from_vector(const std::vector<f16>&, const Dims&, TensorOptions);

// std::vector<bool> is bit-packed, so booleans come in one by one.
template <>
Tensor from_vector(const std::vector<bool>& data, const Dims& shape, TensorOptions options) {
  std::vector<uint8_t> bytes(data.begin(), data.end());
  Tensor t = from_vector(bytes, shape, TensorOptions(DType::u8, kCPU));
  return ops::to(ops::to(t, options.dtype), options.device);
}

Tensor scalar_tensor(double value, TensorOptions options) { return ops::full({}, value, options); }

}  // namespace trip
