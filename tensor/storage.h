// defines: Storage, the reference-counted memory block tensors view into. It remembers its device
// and counts in-place modifications (`version`) so autograd can detect a saved tensor that changed.
// Memory comes from the device's allocator (`allocate`) or from someone else (`wrap`: e.g. a
// memory-mapped file), kept alive by an owner handle for as long as the storage lives.
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
  // Wraps memory the engine did not allocate: [data, data + nbytes) on `device`, which must stay
  // valid, writable and aligned for the dtypes viewed through it as long as `owner` lives. The
  // storage holds `owner` and drops it when destroyed (the owner's deleter frees the memory, e.g.
  // munmap); the device allocator never sees the block. `owner` must not be null: without it the
  // storage could outlive the memory.
  static std::shared_ptr<Storage> wrap(void* data, size_t nbytes, Device device,
                                       std::shared_ptr<void> owner);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  // True for wrapped memory (its owner, not the device allocator, frees it).
  bool is_external() const { return owner_ != nullptr; }
  uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

 private:
  Storage(void* data, size_t nbytes, Device device, std::shared_ptr<void> owner = nullptr)
      : data_(data), nbytes_(nbytes), device_(device), owner_(std::move(owner)) {}
  void* data_;
  size_t nbytes_;
  Device device_;
  std::shared_ptr<void> owner_;  // null: data_ came from backend(device_).allocate
  std::atomic<uint64_t> version_{0};
};

}  // namespace trip
