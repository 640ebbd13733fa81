#include <mutex>

#include "tensor/backend.h"
#include "tensor/ops.h"

namespace trip::ops {

Generator& default_generator() {
  static Generator gen{/*seed=*/0x5eed, /*offset=*/0};
  return gen;
}

void manual_seed(uint64_t seed) { default_generator() = Generator{seed, 0}; }

static Tensor draw(RandomKind kind, const Dims& shape, double a, double b, TensorOptions options,
                   Generator* gen, const char* op) {
  TRIP_CHECK(is_floating(options.dtype), "{}: expected a floating dtype, got {}", op,
             options.dtype);
  Generator& g = gen ? *gen : default_generator();
  Tensor t = empty(shape, options);
  uint64_t blocks = (uint64_t(t.numel()) + 3) / 4;  // each Philox block gives 4 numbers
  uint64_t seed, offset;
  {
    // Reserve this draw's counter range: threads drawing at once (data loaders) get disjoint
    // numbers, and the kernel runs outside the lock.
    static std::mutex mutex;
    std::lock_guard<std::mutex> lock(mutex);
    seed = g.seed;
    offset = g.offset;
    g.offset += blocks;
  }
  if (t.numel() > 0) backend(options.device).random(kind, t, seed, offset, a, b);
  return t;
}

Tensor rand(const Dims& shape, TensorOptions options, Generator* gen) {
  return draw(RandomKind::uniform, shape, 0.0, 1.0, options, gen, "rand");
}
Tensor randn(const Dims& shape, TensorOptions options, Generator* gen) {
  return draw(RandomKind::normal, shape, 0.0, 1.0, options, gen, "randn");
}
Tensor uniform(const Dims& shape, double low, double high, TensorOptions options, Generator* gen) {
  TRIP_CHECK(low < high, "uniform: low ({}) must be below high ({})", low, high);
  return draw(RandomKind::uniform, shape, low, high, options, gen, "uniform");
}

}  // namespace trip::ops
