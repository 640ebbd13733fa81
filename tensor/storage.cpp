#include "tensor/storage.h"

#include "tensor/backend.h"

namespace trip {

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, Device device) {
  void* data = backend(device).allocate(nbytes, device);
  return std::shared_ptr<Storage>(new Storage(data, nbytes, device));
}

Storage::~Storage() {
  if (data_) backend(device_).deallocate(data_, nbytes_, device_);
}

}  // namespace trip
