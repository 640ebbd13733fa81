// defines: median_ms, the benchmark timer: warm-up runs, then the median wall time of `repeats`
// runs (synchronising the GPU around each when the work is on a CUDA device).
#pragma once
#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace trip::bench {

inline double median_ms(
    const std::function<void()>& run, int repeats, const std::function<void()>& sync = [] {}) {
  for (int i = 0; i < 2; ++i) run();  // warm-up: first-touch page faults, caches, cuBLAS init
  sync();
  std::vector<double> times;
  for (int i = 0; i < repeats; ++i) {
    auto start = std::chrono::steady_clock::now();
    run();
    sync();
    times.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace trip::bench
