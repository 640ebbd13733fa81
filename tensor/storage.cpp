#include "tensor/storage.h"

#include "tensor/backend.h"
#include "tensor/error.h"

namespace trip {

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, Device device) {
  void* data = backend(device).allocate(nbytes, device);
  return std::shared_ptr<Storage>(new Storage(data, nbytes, device));
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t nbytes, Device device,
                                       std::shared_ptr<void> owner) {
  TRIP_CHECK(owner != nullptr, "Storage::wrap: an owner keeping the {} bytes at {} alive is needed",
             nbytes, data);
  TRIP_CHECK(data != nullptr || nbytes == 0, "Storage::wrap: null data for {} bytes", nbytes);
  return std::shared_ptr<Storage>(new Storage(data, nbytes, device, std::move(owner)));
}

Storage::~Storage() {
  // Wrapped memory is released by dropping owner_ (its deleter), not by the allocator.
  if (data_ && !owner_) backend(device_).deallocate(data_, nbytes_, device_);
}

}  // namespace trip
