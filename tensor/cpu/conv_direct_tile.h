// defines: the forward kernel of the direct convs (conv_direct.h) once for every instruction set:
// the plane's tap geometry (Taps, made in conv_direct.cpp) and, generic over a vector type V, the
// register tile and its driver. conv_direct_avx512.cpp and conv_direct_avx2.cpp include this
// after their `#pragma GCC target`, with a V of their own, so each gets its own machine code.
//
// With output size = input size, a spatial position has one flat index pos (over d, h, w) in
// both x and out, and kernel tap t reads x at pos + off[t], off[t] = the tap's flat displacement.
// So a vector of consecutive output positions reads a vector of consecutive inputs: one
// unaligned load per (channel, tap), whose lanes that fall into the padding (a row edge, the top
// or bottom rows, outside the plane) are masked off. The masks depend on (vector, tap) only and
// are computed once per call; masked-off lanes are never read (masked loads do not fault on
// them), so no padded copy is needed either.
// Forward: a register tile of R output channels x NV vectors of positions; per (tap, input
// channel) NV masked loads of x and R broadcast weights (packed [tap][ci][R]), R*NV FMAs. Each
// output sums its terms in the same order (tap-major, then channel) whatever its tile or thread.
//
// V provides: Elem, Reg, Mask, kLanes; zero(), set1(v), fma(a, b, c); mask(bits) (the Mask of
// bit mask `bits`, bit j = lane j); load(mask, p) (masked-off lanes read as 0); store(p, bits,
// v) (writes the lanes in `bits` only).
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "tensor/cpu/conv_direct.h"
#include "tensor/cpu/parallel.h"

namespace trip::cpu::conv_direct {

// Flat displacement of each tap, and for every vector of `lanes` positions and every tap the
// mask of lanes whose input lies inside x (bit j: position v*lanes + j).
struct Taps {
  std::vector<int64_t> off;
  std::vector<uint16_t> mask;  // [vector][tap]
  int64_t vectors = 0, taps = 0;
};
Taps make_taps(const Shape& s, int lanes);  // conv_direct.cpp

// The forward for each instruction set (conv_direct_avx512.cpp, conv_direct_avx2.cpp); the
// caller checks that the CPU has it.
void forward_avx512(const float* x, const float* w, const float* bias, float* out, const Shape& s);
void forward_avx512(const double* x, const double* w, const double* bias, double* out,
                    const Shape& s);
void forward_avx2(const float* x, const float* w, const float* bias, float* out, const Shape& s);
void forward_avx2(const double* x, const double* w, const double* bias, double* out,
                  const Shape& s);

// Internal linkage: each including file compiles these for its own instruction set.
namespace {

inline int64_t kernel_volume(const Shape& s) { return s.k[0] * s.k[1] * s.k[2]; }
inline int64_t plane_size(const Shape& s) { return s.in[0] * s.in[1] * s.in[2]; }

// Bit mask of the lanes of vector v that lie inside the plane of L positions.
inline uint16_t tail_bits(int lanes, int64_t v, int64_t L) {
  const int64_t n = std::min<int64_t>(lanes, L - v * lanes);
  return uint16_t((1u << n) - 1);
}

// Register tile: R output channels (rows of out, L apart) x NV vectors from position
// v0 * lanes. wp: [taps][cin][R] packed weights of these channels; x: channel 0 of the group.
template <typename V, int R, int NV>
void forward_tile(const typename V::Elem* x, int64_t L, int64_t cin, const Taps& tp, int64_t v0,
                  const typename V::Elem* wp, const typename V::Elem* bias, typename V::Elem* out,
                  int rows) {
  using T = typename V::Elem;
  constexpr int kL = V::kLanes;
  typename V::Reg acc[R][NV];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[r][j] = bias ? V::set1(bias[r]) : V::zero();
  for (int64_t t = 0; t < tp.taps; ++t) {
    typename V::Mask m[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) m[j] = V::mask(tp.mask[(v0 + j) * tp.taps + t]);
    const T* xs = x + v0 * kL + tp.off[t];
    const T* wt = wp + t * cin * R;
    for (int64_t ci = 0; ci < cin; ++ci, xs += L, wt += R) {
      typename V::Reg b[NV];
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) b[j] = V::load(m[j], xs + j * kL);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const typename V::Reg a = V::set1(wt[r]);
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) acc[r][j] = V::fma(a, b[j], acc[r][j]);
      }
    }
  }
  // Fully unrolled (acc indexed by constants only), else the compiler keeps acc in memory.
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    if (r >= rows) break;
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j)
      V::store(out + r * L + (v0 + j) * kL, tail_bits(kL, v0 + j, L), acc[r][j]);
  }
}

// out[N][C_out][L] = bias + conv(x, w) with tiles of R output channels x NV vectors.
template <typename V, int R, int NV>
void forward_planes(const typename V::Elem* x, const typename V::Elem* w,
                    const typename V::Elem* bias, typename V::Elem* out, const Shape& s) {
  using T = typename V::Elem;
  const int64_t L = plane_size(s), KK = kernel_volume(s);
  const int64_t cg_in = s.C_in / s.G, cg_out = s.C_out / s.G;
  const int64_t blocks = (cg_out + R - 1) / R;  // per group
  const Taps tp = make_taps(s, V::kLanes);
  // wp[grp][block][tap][ci][R], zero rows past the group's channels.
  std::vector<T> wp(s.G * blocks * KK * cg_in * R, T(0));
  for (int64_t grp = 0; grp < s.G; ++grp)
    for (int64_t co = 0; co < cg_out; ++co)
      for (int64_t ci = 0; ci < cg_in; ++ci)
        for (int64_t t = 0; t < KK; ++t)
          wp[(((grp * blocks + co / R) * KK + t) * cg_in + ci) * R + co % R] =
              w[((grp * cg_out + co) * cg_in + ci) * KK + t];
  // One task per (sample, group, block of R output channels): its weights stay in L1 while it
  // sweeps the plane, the sample's input in L2.
  parallel_for(s.N * s.G * blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t n = i / (s.G * blocks), grp = i / blocks % s.G, blk = i % blocks;
      const int rows = int(std::min<int64_t>(R, cg_out - blk * R));
      const T* xg = x + (n * s.C_in + grp * cg_in) * L;
      const T* wb = wp.data() + (grp * blocks + blk) * KK * cg_in * R;
      const int64_t co0 = grp * cg_out + blk * R;
      const T* bb = bias ? bias + co0 : nullptr;
      T bias_pad[R] = {};
      if (bb && rows < R) std::copy(bb, bb + rows, bias_pad), bb = bias_pad;
      T* ob = out + (n * s.C_out + co0) * L;
      // With NV = 3: tiles of 2 vectors on small planes where that avoids a 1-vector tail tile
      // (load-bound: 15% of an 8x8 conv with AVX-512); on large planes the 3-vector tile is
      // faster despite its tail (measured at 32x32).
      int64_t v = 0;
      if (NV == 3 && tp.vectors % NV != 0 && tp.vectors % 2 == 0 && tp.vectors < 8 * NV)
        for (; v < tp.vectors; v += 2) forward_tile<V, R, 2>(xg, L, cg_in, tp, v, wb, bb, ob, rows);
      for (; v + NV <= tp.vectors; v += NV)
        forward_tile<V, R, NV>(xg, L, cg_in, tp, v, wb, bb, ob, rows);
      for (; v < tp.vectors; ++v) forward_tile<V, R, 1>(xg, L, cg_in, tp, v, wb, bb, ob, rows);
    }
  });
}

}  // namespace
}  // namespace trip::cpu::conv_direct
