// defines: SplitMix64, the small deterministic PRNG of data/ (synthetic videos, clip starts and
// crops, epoch shuffles), and mix(), which derives independent seeds from (seed, a, b, ...). Own
// code rather than the tensor Philox generator: data decisions must be a pure function of their
// seed, independent of thread count, order of calls and of any global generator state.
#pragma once
#include <cstdint>
#include <initializer_list>

namespace trip::data {

struct SplitMix64 {
  uint64_t state;
  explicit SplitMix64(uint64_t seed) : state(seed) {}
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n) (n > 0); the modulo bias is below 2^-40 for the sizes used here.
  int64_t below(int64_t n) { return n <= 1 ? 0 : int64_t(next() % uint64_t(n)); }
};

// A seed for the stream named by `parts` under `seed`: mix(seed, {epoch, slot}) and
// mix(seed, {slot, epoch}) differ, and nearby inputs give unrelated outputs.
inline uint64_t mix(uint64_t seed, std::initializer_list<uint64_t> parts) {
  SplitMix64 g(seed ^ 0x6a09e667f3bcc909ull);
  uint64_t h = g.next();
  for (uint64_t p : parts) {
    SplitMix64 step(h ^ (p * 0x9e3779b97f4a7c15ull + 0x3c6ef372fe94f82bull));
    h = step.next();
  }
  return h;
}

}  // namespace trip::data
