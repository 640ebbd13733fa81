// defines: the CPU allocator: 64-byte aligned host memory, with a cache of large freed blocks.
// Reusing a block avoids the page faults the kernel charges for fresh memory, which otherwise
// cost more than the work itself in a memory-bound op on a large tensor (e.g. a 16 MB add).
#pragma once
#include <cstddef>

namespace trip::cpu {

void* host_allocate(size_t nbytes);
void host_deallocate(void* ptr);
// Frees every cached block (memory in use is untouched).
void host_empty_cache();
// Bytes held in the cache, not in use.
size_t host_cached_bytes();

}  // namespace trip::cpu
