#include "tensor/cpu/parallel.h"

#include <pthread.h>
#include <sched.h>

#include <cstdlib>
#include <vector>

namespace trip::cpu {

void bind_threads_once() {
  static const bool done = [] {
    for (const char* var :
         {"OMP_PROC_BIND", "OMP_PLACES", "GOMP_CPU_AFFINITY", "TRIP_NO_THREAD_BINDING"}) {
      if (std::getenv(var)) return true;
    }
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return true;
    std::vector<int> cpus;
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &allowed)) cpus.push_back(c);
    // More threads than CPUs: leave placement to the OS rather than stack threads on a core.
    if (cpus.empty() || omp_get_max_threads() > int(cpus.size())) return true;
#pragma omp parallel
    {
      // The main thread stays free: threads it creates later (data loaders) inherit its mask.
      if (omp_get_thread_num() > 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpus[size_t(omp_get_thread_num())], &one);
        pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
      }
    }
    return true;
  }();
  (void)done;
}

}  // namespace trip::cpu
