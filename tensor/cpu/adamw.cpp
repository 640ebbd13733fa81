// defines: cpu::adamw_step, the fused multithreaded AdamW loop: one pass over p, g, m, v of every
// parameter, with the per-element formula of tensor/adamw.h.
#include <vector>

#include "tensor/adamw.h"
#include "tensor/cpu/kernels.h"
#include "tensor/cpu/parallel.h"

namespace trip::cpu {
namespace {

template <typename T>
void update(const AdamWTensors& t, int64_t begin, int64_t end) {
  T* p = static_cast<T*>(t.p.data_ptr());
  T* m = static_cast<T*>(t.m.data_ptr());
  T* v = static_cast<T*>(t.v.data_ptr());
  const T* g = static_cast<const T*>(t.g.data_ptr());
  const AdamWScalars<T> s(t.c);
  // omp simd: the four arrays never alias (distinct tensors); with the project's -fno-math-errno
  // the sqrt vectorises too.
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) adamw_element(p[i], m[i], v[i], g[i], s);
}

}  // namespace

void adamw_step(const std::vector<AdamWTensors>& params) {
  // One parallel loop over fixed-size chunks of all parameters together, so the many small
  // tensors of a UNet share the threads instead of each running serially.
  struct Chunk {
    size_t param;
    int64_t begin, end;
  };
  std::vector<Chunk> chunks;
  for (size_t j = 0; j < params.size(); ++j) {
    const int64_t n = params[j].p.numel(), grain = kElementwiseGrain;
    for (int64_t b = 0; b < n; b += grain) chunks.push_back({j, b, std::min(n, b + grain)});
  }
  parallel_for(int64_t(chunks.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      const Chunk& ch = chunks[size_t(k)];
      const AdamWTensors& t = params[ch.param];
      if (t.p.dtype() == DType::f32) {
        update<float>(t, ch.begin, ch.end);
      } else {
        update<double>(t, ch.begin, ch.end);
      }
    }
  });
}

}  // namespace trip::cpu
