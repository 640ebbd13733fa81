#include "tensor/cpu/kernels.h"
#include "tensor/cpu/parallel.h"
#include "tensor/philox.h"

namespace trip::cpu {

void random(RandomKind kind, const Tensor& out, uint64_t seed, uint64_t offset, double a,
            double b) {
  dispatch_floating(out.dtype(), "random", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = typename decltype(tag)::compute;
    T* y = static_cast<T*>(out.data_ptr());
    int64_t n = out.numel(), blocks = (n + 3) / 4;
    parallel_for(blocks, kElementwiseGrain / 4, [&](int64_t b0, int64_t b1) {
      for (int64_t blk = b0; blk < b1; ++blk) {
        philox::Block bits = philox::generate(seed, offset + uint64_t(blk));
        for (int lane = 0; lane < 4 && blk * 4 + lane < n; ++lane) {
          y[blk * 4 + lane] =
              philox::sample<T, C>(bits, lane, kind == RandomKind::normal, C(a), C(b));
        }
      }
    });
  });
}

}  // namespace trip::cpu
