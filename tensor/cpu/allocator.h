// defines: the CPU allocator: 64-byte aligned host memory, with a cache of large freed blocks,
// and its statistics (bytes in use and their peak; tensor/memory_stats.h is the public view).
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
// Bytes in blocks handed out and not yet returned: large blocks at their rounded size (multiples
// of 4 KiB), small ones at malloc's usable size. The peak is the most in use at any moment since
// the start or the last reset. Atomic counters: cheap enough for every allocation, thread-safe.
size_t host_bytes_in_use();
size_t host_peak_bytes_in_use();
// Sets the peak to the bytes in use now, so the next peak measures what follows.
void host_reset_peak_bytes();

}  // namespace trip::cpu
