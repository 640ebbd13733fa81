#include "bench/peak.h"

#include <omp.h>

#include <cstring>
#include <vector>

#include "bench/timing.h"

namespace trip::bench {

namespace {

// Independent FMA chains, enough to cover the FMA latency on every pipe; the compiler vectorises
// the lane loop to the widest registers -march allows.
constexpr int kChains = 16, kLanes = 16;

double fma_gflops() {
  const long iterations = 20'000'000;
  volatile float sink = 0;
  auto run = [&] {
#pragma omp parallel
    {
      float acc[kChains][kLanes];
      for (int c = 0; c < kChains; ++c)
        for (int l = 0; l < kLanes; ++l) acc[c][l] = float(c + l) * 1e-3f;
      const float mul = 0.999999f, add = 1e-7f;
      for (long i = 0; i < iterations / kChains / kLanes * 16; ++i) {
        for (int c = 0; c < kChains; ++c)
#pragma omp simd
          for (int l = 0; l < kLanes; ++l) acc[c][l] = acc[c][l] * mul + add;
      }
      float total = 0;
      for (int c = 0; c < kChains; ++c)
        for (int l = 0; l < kLanes; ++l) total += acc[c][l];
      sink = sink + total;
    }
  };
  double ms = median_ms(run, 3);
  double flops =
      2.0 * double(iterations / kChains / kLanes * 16) * kChains * kLanes * omp_get_max_threads();
  return flops / ms / 1e6;
}

double copy_gbps() {
  const size_t n = size_t(64) << 20;  // 256 MiB of floats: far beyond the caches
  std::vector<float> a(n, 1.0f), b(n, 0.0f);
  auto run = [&] {
#pragma omp parallel for schedule(static)
    for (long i = 0; i < long(n); ++i) b[i] = a[i];
  };
  double ms = median_ms(run, 5);
  return 2.0 * double(n) * sizeof(float) / ms / 1e6;
}

}  // namespace

Peak measure_cpu_peak() { return Peak{fma_gflops(), copy_gbps()}; }

}  // namespace trip::bench
