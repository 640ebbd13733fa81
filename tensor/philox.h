// defines: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011),
// a counter-based generator: the numbers depend only on (seed, counter), so CPU and CUDA kernels
// produce the same values for the same seed whatever their thread layout. Also the conversions to
// uniform floats and (Box-Muller) normals that both backends share.
#pragma once
#include <cmath>
#include <cstdint>

#include "tensor/half.h"
#include "tensor/macros.h"

namespace trip::philox {

struct Block {
  uint32_t v[4];
};

TRIP_HD uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = uint64_t(a) * uint64_t(b);
  *hi = uint32_t(p >> 32);
  return uint32_t(p);
}

// Four 32-bit random words for a 64-bit key (the seed) and a 64-bit block counter.
TRIP_HD Block generate(uint64_t seed, uint64_t counter) {
  uint32_t c0 = uint32_t(counter), c1 = uint32_t(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo(0xD2511F53u, c0, &hi0);
    uint32_t lo1 = mulhilo(0xCD9E8D57u, c2, &hi1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Block{{c0, c1, c2, c3}};
}

// Uniform in [0, 1) with 24 random bits (every value exactly representable in float).
TRIP_HD float to_uniform(uint32_t x) { return float(x >> 8) * (1.0f / 16777216.0f); }

// Element `lane` (0..3) of a block as a uniform or a standard normal. Normals pair lanes (0,1) and
// (2,3) through Box-Muller; the first of the pair takes the cosine branch.
TRIP_HD float uniform_lane(const Block& b, int lane) { return to_uniform(b.v[lane]); }

TRIP_HD float normal_lane(const Block& b, int lane) {
  int first = lane & ~1;
  float u1 = (float(b.v[first] >> 8) + 1.0f) * (1.0f / 16777216.0f);  // (0, 1]: log is finite
  float u2 = to_uniform(b.v[first + 1]);
  float radius = std::sqrt(-2.0f * std::log(u1));
  float angle = 6.283185307179586f * u2;
  return (lane & 1) ? radius * std::sin(angle) : radius * std::cos(angle);
}

// Element `lane` of a block as a value of storage type T: uniform in [low, high) or normal with
// mean `low` and standard deviation `high`, scaled in the compute type C with one explicit fma
// (so CPU and GPU round identically whatever the compiler contracts), and kept below `high` when
// rounding to a 16-bit type would land on it.
template <typename T, typename C>
TRIP_HD T sample(const Block& b, int lane, bool normal, C low, C high) {
  if (normal) return T(std::fma(high, C(normal_lane(b, lane)), low));
  T out = T(std::fma(high - low, C(uniform_lane(b, lane)), low));
  return C(out) >= high ? next_below(out) : out;
}

}  // namespace trip::philox
