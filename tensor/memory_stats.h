// defines: the engine's memory statistics on either device: cpu_memory_stats() (the host
// allocator of tensor/cpu/allocator.h), cuda_memory_stats() (tensor/cuda_memory.h), and
// reset_peak_memory_stats(device), so a benchmark can measure the peak of one piece of work.
// Counted: tensor storage from the engine's allocators. Not counted: memory that libraries or the
// C++ runtime take themselves (thread stacks, OpenMP, code); the process's peak RSS covers that.
#pragma once
#include <cstddef>

#include "tensor/cuda_memory.h"
#include "tensor/device.h"

namespace trip {

// Host memory of tensors: `in_use` bytes in blocks handed out now (rounded block sizes), `peak`
// the most in use since the start or the last reset, `cached` held by the allocator's cache of
// freed large blocks (not in use, not in the peak).
struct CpuMemoryStats {
  size_t in_use = 0, peak = 0, cached = 0;
};

CpuMemoryStats cpu_memory_stats();
// Sets the device's peak to the bytes in use now (CPU: the host allocator; CUDA: the caching
// allocator's `peak` to its `allocated`).
void reset_peak_memory_stats(Device device);

}  // namespace trip
