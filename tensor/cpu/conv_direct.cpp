// Direct AVX-512 convolution for stride-1 "same" convs (conv_direct.h): no im2col.
//
// With output size = input size, a spatial position has one flat index pos (over d, h, w) in
// both x and out, and kernel tap t reads x at pos + off[t], off[t] = the tap's flat displacement.
// So a vector of consecutive output positions reads a vector of consecutive inputs: one
// unaligned load per (channel, tap), whose lanes that fall into the padding (a row edge, the top
// or bottom rows, outside the plane) are masked off. The masks depend on (vector, tap) only and
// are computed once per call; masked-off lanes are never read (AVX-512 masked loads do not
// fault), so no padded copy is needed either.
// - forward: a register tile of R output channels x NV vectors of positions; per (tap, input
//   channel) NV masked loads of x and R broadcast weights (packed [tap][ci][R]), R*NV FMAs. Each
//   output sums its terms in the same order (tap-major, then channel) whatever its tile or thread.
// grad_weight is in conv_gw.cpp (GEMM micro-kernels over a padded copy).
#include "tensor/cpu/conv_direct.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "tensor/cpu/gemm.h"
#include "tensor/cpu/parallel.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TRIP_AVX512_FN __attribute__((target("avx512f,avx512vl,avx512dq,fma")))
#define TRIP_AVX512_INLINE \
  __attribute__((target("avx512f,avx512vl,avx512dq,fma"), always_inline)) inline
#endif

namespace trip::cpu::conv_direct {
namespace {

int64_t kernel_volume(const Shape& s) { return s.k[0] * s.k[1] * s.k[2]; }
int64_t plane_size(const Shape& s) { return s.in[0] * s.in[1] * s.in[2]; }

// Flat displacement of each tap, and for every vector of `lanes` positions and every tap the
// mask of lanes whose input lies inside x (bit j: position v*lanes + j).
struct Taps {
  std::vector<int64_t> off;
  std::vector<uint16_t> mask;  // [vector][tap]
  int64_t vectors = 0, taps = 0;
};

Taps make_taps(const Shape& s, int lanes) {
  Taps t;
  const int64_t L = plane_size(s), H = s.in[1], W = s.in[2];
  t.taps = kernel_volume(s);
  t.vectors = (L + lanes - 1) / lanes;
  int64_t disp[64][3];
  for (int64_t tap = 0; tap < t.taps; ++tap) {
    int64_t kd = tap / (s.k[1] * s.k[2]), kh = tap / s.k[2] % s.k[1], kw = tap % s.k[2];
    disp[tap][0] = kd * s.d[0] - s.p[0], disp[tap][1] = kh * s.d[1] - s.p[1];
    disp[tap][2] = kw * s.d[2] - s.p[2];
    t.off.push_back((disp[tap][0] * H + disp[tap][1]) * W + disp[tap][2]);
  }
  t.mask.assign(t.vectors * t.taps, 0);
  for (int64_t pos = 0; pos < L; ++pos) {
    int64_t od = pos / (H * W), oh = pos / W % H, ow = pos % W;
    for (int64_t tap = 0; tap < t.taps; ++tap) {
      int64_t id = od + disp[tap][0], ih = oh + disp[tap][1], iw = ow + disp[tap][2];
      if (id >= 0 && id < s.in[0] && ih >= 0 && ih < H && iw >= 0 && iw < W)
        t.mask[pos / lanes * t.taps + tap] |= uint16_t(1u << (pos % lanes));
    }
  }
  return t;
}

#if defined(__x86_64__) || defined(__i386__)

template <typename T>
struct Vec;

template <>
struct Vec<float> {
  using Reg = __m512;
  static constexpr int kLanes = 16;
  TRIP_AVX512_INLINE static Reg zero() { return _mm512_setzero_ps(); }
  TRIP_AVX512_INLINE static Reg set1(float v) { return _mm512_set1_ps(v); }
  TRIP_AVX512_INLINE static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  TRIP_AVX512_INLINE static Reg load(uint16_t m, const float* p) {
    return _mm512_maskz_loadu_ps(__mmask16(m), p);
  }
  TRIP_AVX512_INLINE static void store(float* p, uint16_t m, Reg v) {
    _mm512_mask_storeu_ps(p, __mmask16(m), v);
  }
};

template <>
struct Vec<double> {
  using Reg = __m512d;
  static constexpr int kLanes = 8;
  TRIP_AVX512_INLINE static Reg zero() { return _mm512_setzero_pd(); }
  TRIP_AVX512_INLINE static Reg set1(double v) { return _mm512_set1_pd(v); }
  TRIP_AVX512_INLINE static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_pd(a, b, c); }
  TRIP_AVX512_INLINE static Reg load(uint16_t m, const double* p) {
    return _mm512_maskz_loadu_pd(__mmask8(m), p);
  }
  TRIP_AVX512_INLINE static void store(double* p, uint16_t m, Reg v) {
    _mm512_mask_storeu_pd(p, __mmask8(m), v);
  }
};

// Mask of the lanes of vector v that lie inside the plane of L positions.
template <typename T>
uint16_t tail_mask(int64_t v, int64_t L) {
  const int64_t n = std::min<int64_t>(Vec<T>::kLanes, L - v * Vec<T>::kLanes);
  return n >= 16 ? uint16_t(0xffff) : uint16_t((1u << n) - 1);
}

// Forward register tile: R output channels (rows of out, L apart) x NV vectors from position
// v0 * lanes. wp: [taps][cin][R] packed weights of these channels; x: channel 0 of the group.
template <typename T, int R, int NV>
TRIP_AVX512_FN void forward_tile(const T* x, int64_t L, int64_t cin, const Taps& tp, int64_t v0,
                                 const T* wp, const T* bias, T* out, int rows) {
  using V = Vec<T>;
  constexpr int kL = V::kLanes;
  typename V::Reg acc[R][NV];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[r][j] = bias ? V::set1(bias[r]) : V::zero();
  for (int64_t t = 0; t < tp.taps; ++t) {
    uint16_t m[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) m[j] = tp.mask[(v0 + j) * tp.taps + t];
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
      V::store(out + r * L + (v0 + j) * kL, tail_mask<T>(v0 + j, L), acc[r][j]);
  }
}

constexpr int kFwdRows = 8, kFwdVecs = 3;

template <typename T>
void forward_impl(const T* x, const T* w, const T* bias, T* out, const Shape& s) {
  constexpr int R = kFwdRows, NV = kFwdVecs;
  const int64_t L = plane_size(s), KK = kernel_volume(s);
  const int64_t cg_in = s.C_in / s.G, cg_out = s.C_out / s.G;
  const int64_t blocks = (cg_out + R - 1) / R;  // per group
  const Taps tp = make_taps(s, Vec<T>::kLanes);
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
      // 3 vectors per tile (24 accumulators), or 2 on small planes where that avoids a
      // 1-vector tail tile (load-bound: 15% of an 8x8 conv); on large planes the 3-vector tile
      // is faster despite its tail (measured at 32x32).
      int64_t v = 0;
      if (tp.vectors % NV != 0 && tp.vectors % 2 == 0 && tp.vectors < 8 * NV)
        for (; v < tp.vectors; v += 2) forward_tile<T, R, 2>(xg, L, cg_in, tp, v, wb, bb, ob, rows);
      for (; v + NV <= tp.vectors; v += NV)
        forward_tile<T, R, NV>(xg, L, cg_in, tp, v, wb, bb, ob, rows);
      for (; v < tp.vectors; ++v) forward_tile<T, R, 1>(xg, L, cg_in, tp, v, wb, bb, ob, rows);
    }
  });
}

bool cpu_has_avx512() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma");
  return has;
}

#else  // not x86

bool cpu_has_avx512() { return false; }
template <typename T>
void forward_impl(const T*, const T*, const T*, T*, const Shape&) {}

#endif

}  // namespace

bool applies(const Shape& s) {
  // The masks hold 16 lanes and make_taps at most 64 taps (5x5 in 2-d, 3x3x3 and 4x4x4 in 3-d).
  const int64_t KK = kernel_volume(s);
  if (KK < 2 || KK > 64) return false;
  for (int i = 0; i < 3; ++i)
    if (2 * s.p[i] != s.d[i] * (s.k[i] - 1)) return false;  // output size == input size
  return cpu_has_avx512() && active_gemm_kernel() == GemmKernel::avx512;
}

void forward(const float* x, const float* w, const float* bias, float* out, const Shape& s) {
  forward_impl(x, w, bias, out, s);
}
void forward(const double* x, const double* w, const double* bias, double* out, const Shape& s) {
  forward_impl(x, w, bias, out, s);
}
}  // namespace trip::cpu::conv_direct
