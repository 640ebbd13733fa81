#include "tensor/cpu/allocator.h"

#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

#include "tensor/backend.h"
#include "tensor/error.h"
#include "tensor/memory_stats.h"

namespace trip::cpu {

namespace {

// Blocks below this size come straight from malloc, whose own free lists serve them well.
constexpr size_t kCacheFrom = size_t(256) << 10;

size_t cache_limit() {
  // TRIP_CPU_CACHE_MB caps the cache (0 turns it off); the default suits training on 24 GiB.
  static const size_t limit = [] {
    const char* env = std::getenv("TRIP_CPU_CACHE_MB");
    return env ? size_t(std::strtoull(env, nullptr, 10)) << 20 : size_t(4) << 30;
  }();
  return limit;
}

struct Cache {
  std::mutex mutex;
  std::multimap<size_t, void*> free_blocks;       // size -> block
  std::unordered_map<void*, size_t> block_sizes;  // every live or cached large block
  size_t cached = 0;
};

Cache& cache() {
  static Cache* instance = new Cache;  // never destroyed: tensors may be freed at exit
  return *instance;
}

// Relaxed atomics: the counters order nothing else, they only have to add up.
std::atomic<size_t> in_use{0}, peak_in_use{0};

void count_allocation(size_t nbytes) {
  const size_t now = in_use.fetch_add(nbytes, std::memory_order_relaxed) + nbytes;
  size_t peak = peak_in_use.load(std::memory_order_relaxed);
  while (now > peak && !peak_in_use.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

void count_release(size_t nbytes) { in_use.fetch_sub(nbytes, std::memory_order_relaxed); }

void* fresh(size_t nbytes) {
  // No MADV_HUGEPAGE: it gained ~8% on a 16 MB add, but where the kernel defragments on fault
  // ("defrag: madvise") a fresh block can stall for milliseconds.
  void* p = std::aligned_alloc(64, nbytes);
  TRIP_CHECK(p != nullptr, "cpu: out of memory allocating {} bytes", nbytes);
  return p;
}

}  // namespace

void* host_allocate(size_t nbytes) {
  size_t rounded = (std::max<size_t>(nbytes, 1) + 63) / 64 * 64;
  void* p = nullptr;
  if (rounded >= kCacheFrom) {
    rounded = (rounded + 4095) / 4096 * 4096;
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    // The smallest cached block that fits, unless it wastes more than a quarter of itself.
    auto it = c.free_blocks.lower_bound(rounded);
    size_t block = rounded;
    if (it != c.free_blocks.end() && it->first <= rounded + rounded / 4) {
      block = it->first;  // counted at its full size, as host_deallocate releases it
      p = it->second;
      c.cached -= it->first;
      c.free_blocks.erase(it);
    } else {
      p = fresh(rounded);
      c.block_sizes[p] = rounded;
    }
    count_allocation(block);
  } else {
    p = fresh(rounded);
    // Small blocks are not in block_sizes; malloc knows their size again when they are freed.
    count_allocation(malloc_usable_size(p));
  }
  if (poison_allocations()) std::memset(p, 0xff, nbytes);
  return p;
}

void host_deallocate(void* ptr) {
  if (!ptr) return;
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  auto it = c.block_sizes.find(ptr);
  if (it == c.block_sizes.end()) {
    count_release(malloc_usable_size(ptr));
    std::free(ptr);  // a small block
    return;
  }
  size_t size = it->second;
  count_release(size);
  if (c.cached + size > cache_limit()) {
    c.block_sizes.erase(it);
    std::free(ptr);
    return;
  }
  c.free_blocks.emplace(size, ptr);
  c.cached += size;
}

void host_empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  for (auto& [size, ptr] : c.free_blocks) {
    c.block_sizes.erase(ptr);
    std::free(ptr);
  }
  c.free_blocks.clear();
  c.cached = 0;
}

size_t host_cached_bytes() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.cached;
}

size_t host_bytes_in_use() { return in_use.load(std::memory_order_relaxed); }

size_t host_peak_bytes_in_use() { return peak_in_use.load(std::memory_order_relaxed); }

void host_reset_peak_bytes() {
  peak_in_use.store(in_use.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

}  // namespace trip::cpu

// The public statistics of tensor/memory_stats.h live here, next to the counters they read.
namespace trip {

CpuMemoryStats cpu_memory_stats() {
  return {cpu::host_bytes_in_use(), cpu::host_peak_bytes_in_use(), cpu::host_cached_bytes()};
}

void reset_peak_memory_stats(Device device) {
  if (device.is_cpu())
    cpu::host_reset_peak_bytes();
  else
    cuda_reset_peak_memory_stats(device.index);
}

}  // namespace trip
