#include "tensor/cpu/allocator.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

#include "tensor/backend.h"
#include "tensor/error.h"

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
    if (it != c.free_blocks.end() && it->first <= rounded + rounded / 4) {
      p = it->second;
      c.cached -= it->first;
      c.free_blocks.erase(it);
    } else {
      p = fresh(rounded);
      c.block_sizes[p] = rounded;
    }
  } else {
    p = fresh(rounded);
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
    std::free(ptr);  // a small block
    return;
  }
  size_t size = it->second;
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

}  // namespace trip::cpu
