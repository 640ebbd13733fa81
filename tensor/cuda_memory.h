// defines: the host-side view of CUDA memory and device state: the caching allocator's
// statistics, emptying its cache, and waiting for the device. No CUDA headers, so any file may
// include it; builds without CUDA get zero statistics and no-ops (tensor/no_cuda.cpp).
#pragma once
#include <cstddef>

namespace trip {

// Bytes on one device: `allocated` in blocks handed to tensors (rounded block sizes), `reserved`
// obtained from cudaMalloc (allocated plus the cache), `peak` the largest `allocated` so far.
struct CudaMemoryStats {
  size_t allocated = 0, reserved = 0, peak = 0;
};

CudaMemoryStats cuda_memory_stats(int device = 0);
// Sets `peak` to the bytes allocated now (tensor/memory_stats.h: reset_peak_memory_stats).
void cuda_reset_peak_memory_stats(int device = 0);
// Returns every cached (unused) block to the driver with cudaFree.
void cuda_empty_cache();
// Waits until all work queued on every device has finished; raises asynchronous kernel errors.
void cuda_synchronize();

}  // namespace trip
