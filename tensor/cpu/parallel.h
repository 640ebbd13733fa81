// defines: parallel_for, the one way CPU kernels use threads. Chunk boundaries depend only on the
// problem size and the grain, never on the thread count, so any per-chunk partial results (sums)
// are the same with 1 or 16 threads: results are independent of the number of threads.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace trip::cpu {

// Pins each OpenMP worker thread to one CPU of the process's CPU set, once, unless the user chose
// a placement (OMP_PROC_BIND, OMP_PLACES, GOMP_CPU_AFFINITY) or set TRIP_NO_THREAD_BINDING.
// Threads that stay on their core keep their caches: memory-bound ops measured ~30% faster.
void bind_threads_once();

// Calls fn(begin, end) over [0, n) in chunks of `grain` elements; chunks run in parallel when
// there is more than one and we are not already inside a parallel region.
template <typename Fn>
void parallel_for(int64_t n, int64_t grain, Fn&& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  int64_t chunks = (n + grain - 1) / grain;
  if (chunks == 1 || omp_in_parallel()) {
    for (int64_t c = 0; c < chunks; ++c) fn(c * grain, std::min(n, (c + 1) * grain));
    return;
  }
  bind_threads_once();
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) fn(c * grain, std::min(n, (c + 1) * grain));
}

// Grain for memory-bound elementwise work: large enough to amortise a thread's start-up.
inline constexpr int64_t kElementwiseGrain = 32768;

}  // namespace trip::cpu
