// defines: Storage, the reference-counted memory block tensors view into. It remembers its device
// and counts in-place modifications (`version`) so autograd can detect a saved tensor that changed.
#pragma once
#include <atomic>
#include <cstddef>
#include <memory>

#include "tensor/device.h"

namespace trip {

class Storage {
 public:
  // Allocates nbytes on `device` through that device's allocator (CPU: 64-byte aligned).
  static std::shared_ptr<Storage> allocate(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

 private:
  Storage(void* data, size_t nbytes, Device device)
      : data_(data), nbytes_(nbytes), device_(device) {}
  void* data_;
  size_t nbytes_;
  Device device_;
  std::atomic<uint64_t> version_{0};
};

}  // namespace trip
