// grad_weight of the direct convs (conv_direct.h): per kernel tap t, one GEMM over positions
//   gw_t^T[ci][co] = sum over samples and positions q of x[ci][q + off_t] * go[co][q]
// run on the GEMM's own micro-kernels (gemm_kernels.h), with no im2col.
//
// The trick: x is copied once into a zero-padded layout (p_h zero rows between planes, p_d zero
// planes between volumes, shared by neighbours; no pad columns), in which every tap is one flat
// offset off_t, so the shifted operand of tap t is x_pad itself read from off_t on: rows of A
// read in place by the micro-kernel, one row per input channel. grad_out is laid out on the same
// positions and packed once per sample as the B panels that all taps and input channels share,
// in one variant per horizontal kernel offset with zeros where that offset leaves the row (a
// read past a row's end lands in the next row, and must not count). No im2col, and no extra
// positions in the sum (pad columns cost 6% at 16x16, 12% at 8x8).
//
// Determinism: either a C tile (mr input x nr output channels of one tap: 12 x 32 floats with
// AVX-512, 6 x 16 with AVX2) is owned by one task,
// which adds samples and blocks of positions in a fixed order, or (few tiles) fixed chunks of
// samples sum into partials added in chunk order; the thread count changes nothing.
#include <algorithm>
#include <cstring>
#include <vector>

#include "tensor/cpu/conv_direct.h"
#include "tensor/cpu/gemm.h"
#include "tensor/cpu/gemm_kernels.h"
#include "tensor/cpu/parallel.h"

namespace trip::cpu::conv_direct {
namespace {

using gemm_detail::KernelSet;
using gemm_detail::Tile;

// The GEMM's micro-kernels: AVX-512 or AVX2, the only two that applies() lets through.
template <typename T>
KernelSet<T> kernels() {
  const bool avx512 = active_gemm_kernel() == GemmKernel::avx512;
  if constexpr (sizeof(T) == 4)
    return avx512 ? gemm_detail::avx512_kernels_f32() : gemm_detail::avx2_kernels_f32();
  else
    return avx512 ? gemm_detail::avx512_kernels_f64() : gemm_detail::avx2_kernels_f64();
}

// The padded layout of one channel volume: p_w elements of slack, then dims (D + 2 p_d) x
// (H + p_h) x W with data at (d + p_d, h + p_h, w), then slack. Rows get no pad columns: a tap
// reading past a row's end lands in the neighbouring row, and grad_out is zeroed there instead,
// in one B variant per horizontal offset (so the sum runs over no extra positions).
struct Padded {
  int64_t Hp, vol;   // rows per plane, channel stride
  int64_t first, K;  // flat index of position (0, 0, 0); positions from there to the last
  std::vector<int64_t> off, col;  // per tap: flat offset; per kw: horizontal offset
};

Padded padded(const Shape& s) {
  Padded p{};
  const int64_t W = s.in[2], lead = s.p[2];
  p.Hp = s.in[1] + s.p[1];
  // + slack: the last position's farthest tap reads p_h rows and p_w columns past the volume.
  p.vol = lead + (s.in[0] + 2 * s.p[0]) * p.Hp * W + s.p[1] * W + s.p[2];
  p.first = lead + (s.p[0] * p.Hp + s.p[1]) * W;
  const int64_t last = lead + ((s.in[0] - 1 + s.p[0]) * p.Hp + s.in[1] - 1 + s.p[1]) * W + W - 1;
  p.K = last - p.first + 1;
  for (int64_t kd = 0; kd < s.k[0]; ++kd)
    for (int64_t kh = 0; kh < s.k[1]; ++kh)
      for (int64_t kw = 0; kw < s.k[2]; ++kw)
        p.off.push_back(((kd * s.d[0] - s.p[0]) * p.Hp + kh * s.d[1] - s.p[1]) * W + kw * s.d[2] -
                        s.p[2]);
  for (int64_t kw = 0; kw < s.k[2]; ++kw) p.col.push_back(kw * s.d[2] - s.p[2]);
  return p;
}

// dst (one padded volume, zeroed by the caller) <- src (one D x H x W volume): whole planes.
template <typename T>
void scatter(const T* src, T* dst, const Shape& s, const Padded& p) {
  const int64_t plane = s.in[1] * s.in[2];
  for (int64_t d = 0; d < s.in[0]; ++d)
    std::memcpy(dst + s.p[2] + ((d + s.p[0]) * p.Hp + s.p[1]) * s.in[2], src + d * plane,
                sizeof(T) * plane);
}

// One call's geometry: the padded layout, tile counts and per-sample buffer sizes.
template <typename T>
struct Plan {
  Plan(const Shape& shape, const KernelSet<T>& ks)
      : s(shape), p(padded(shape)), tile(ks.wide), mr(tile.mr), nr(tile.nr) {
    KK = int64_t(p.off.size()), L = s.in[0] * s.in[1] * s.in[2];
    cg_in = s.C_in / s.G, cg_out = s.C_out / s.G;
    ib = (cg_in + mr - 1) / mr, ob = (cg_out + nr - 1) / nr;  // per group
    KW = s.k[2], xs = s.C_in * p.vol, bs = KW * s.G * ob * p.K * nr;
    // Blocks of positions (fixed by the shape): the B panel of a block stays in L1.
    const int64_t kblocks = (p.K + ks.kc - 1) / ks.kc;
    kc = (p.K + kblocks - 1) / kblocks;
  }
  int64_t tiles() const { return s.G * ob * KK * ib; }

  // Sample n's part c of the packing (c < C_in: input channel c into the padded layout at xpad;
  // else group c - C_in of grad_out into B panels at bpack, one variant per kw).
  void pack(const T* go, const T* x, int64_t n, int64_t c, T* xpad, T* bpack,
            std::vector<T>& row) const {
    if (c < s.C_in) {
      T* dst = xpad + c * p.vol;
      std::fill(dst, dst + p.vol, T(0));
      scatter(x + (n * s.C_in + c) * L, dst, s, p);
      return;
    }
    const int64_t grp = c - s.C_in;
    row.assign(cg_out * p.vol, T(0));
    for (int64_t co = 0; co < cg_out; ++co)
      scatter(go + (n * s.C_out + grp * cg_out + co) * L, row.data() + co * p.vol, s, p);
    for (int64_t kw = 0; kw < KW; ++kw) {
      T* dst = bpack + (kw * s.G + grp) * ob * p.K * nr;
      gemm_detail::pack_panels(int(nr), cg_out, p.K, row.data() + p.first, p.vol, 1, dst);
      // Zero the positions whose input column w + col lies outside the row.
      for (int64_t k = 0; k < p.K; ++k) {
        const int64_t w = (p.first + k - s.p[2]) % s.in[2] + p.col[size_t(kw)];
        if (w >= 0 && w < s.in[2]) continue;
        for (int64_t o = 0; o < ob; ++o) std::fill_n(dst + (o * p.K + k) * nr, nr, T(0));
      }
    }
  }

  // Adds one packed sample's contribution to C tile i (group, panel of nr outputs, tap, block
  // of mr input channels) of gwt [KK][C_in][cg_out].
  void accumulate(int64_t i, const T* xpad, const T* bpack, T* gwt) const {
    const int64_t grp = i / (ob * KK * ib), o = i / (KK * ib) % ob, t = i / ib % KK, b = i % ib;
    const int m = int(std::min(mr, cg_in - b * mr)), n_cols = int(std::min(nr, cg_out - o * nr));
    const auto kernel = tile.in_place_a[tile.rows_class(m)];
    T* c = gwt + (t * s.C_in + grp * cg_in + b * mr) * cg_out + o * nr;
    const T* a = xpad + (grp * cg_in + b * mr) * p.vol + p.first + p.off[size_t(t)];
    const T* bp = bpack + ((t % KW * s.G + grp) * ob + o) * p.K * nr;
    for (int64_t k0 = 0; k0 < p.K; k0 += kc)
      kernel(std::min(kc, p.K - k0), a + k0, p.vol, bp + k0 * nr, nr, c, cg_out, m, n_cols, true);
  }

  const Shape& s;
  Padded p;
  const Tile<T>& tile;
  int64_t mr, nr, KK, L, cg_in, cg_out, ib, ob, KW, xs, bs, kc;
};

// Buffers kept for the next call (as the GEMM keeps its packing buffers): fresh pages cost
// faults. Each thread has its own; the tile split passes the calling thread's to the workers.
template <typename T>
T* kept_buffer(std::vector<T>& store, int64_t elems) {
  if (int64_t(store.size()) < elems) store.resize(size_t(elems));
  return store.data();
}

// Few C tiles (small channel counts): the tile split below would leave threads idle at a barrier
// twice per sample part. Instead each task takes whole samples (packs them into its own buffers,
// runs every tile) into a partial gwt of its own, and the partials are added in chunk order.
// Chunks depend on the shape only, so the sum is the same for any thread count.
template <typename T>
void grad_weight_by_samples(const T* go, const T* x, T* gwt, const Plan<T>& plan, int64_t chunks) {
  const Shape& s = plan.s;
  const int64_t per_chunk = (s.N + chunks - 1) / chunks, size = plan.KK * s.C_in * plan.cg_out;
  chunks = (s.N + per_chunk - 1) / per_chunk;
  std::vector<T> partials(size_t(chunks * size), T(0));
  parallel_for(chunks, 1, [&](int64_t begin, int64_t end) {
    thread_local std::vector<T> xpad_store, bpack_store;
    T* const xpad = kept_buffer(xpad_store, plan.xs);
    T* const bpack = kept_buffer(bpack_store, plan.bs);
    std::vector<T> row;
    for (int64_t chunk = begin; chunk < end; ++chunk) {
      for (int64_t n = chunk * per_chunk; n < std::min(s.N, (chunk + 1) * per_chunk); ++n) {
        for (int64_t c = 0; c < s.C_in + s.G; ++c) plan.pack(go, x, n, c, xpad, bpack, row);
        for (int64_t i = 0; i < plan.tiles(); ++i)
          plan.accumulate(i, xpad, bpack, partials.data() + chunk * size);
      }
    }
  });
  parallel_for(size, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    for (int64_t e = begin; e < end; ++e) {
      T sum = partials[size_t(e)];
      for (int64_t chunk = 1; chunk < chunks; ++chunk) sum += partials[size_t(chunk * size + e)];
      gwt[e] = sum;
    }
  });
}

// Many C tiles: samples in parts that fit L2, packed in parallel, then one task per C tile,
// which adds the part's samples in order (so each tile is owned by one task: deterministic).
template <typename T>
void grad_weight_by_tiles(const T* go, const T* x, T* gwt, const Plan<T>& plan) {
  const Shape& s = plan.s;
  const int64_t per_part =
      std::clamp<int64_t>((int64_t(1) << 20) / (int64_t(sizeof(T)) * (plan.xs + plan.bs)), 1, s.N);
  thread_local std::vector<T> xpad_store, bpack_store;
  T* const xpad = kept_buffer(xpad_store, per_part * plan.xs);
  T* const bpack = kept_buffer(bpack_store, per_part * plan.bs);
  for (int64_t n0 = 0; n0 < s.N; n0 += per_part) {
    const int64_t samples = std::min(s.N, n0 + per_part) - n0;
    parallel_for(samples * (s.C_in + s.G), 1, [&](int64_t begin, int64_t end) {
      std::vector<T> row;
      for (int64_t i = begin; i < end; ++i) {
        const int64_t n = i / (s.C_in + s.G);
        plan.pack(go, x, n0 + n, i % (s.C_in + s.G), xpad + n * plan.xs, bpack + n * plan.bs, row);
      }
    });
    // Blocks vary fastest in the tile index, so the threads get the same mix of full and
    // partial blocks. (Tasks owning all taps of a block, to keep its B panel in L1 across them,
    // measured no faster.)
    parallel_for(plan.tiles(), 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        for (int64_t n = 0; n < samples; ++n)
          plan.accumulate(i, xpad + n * plan.xs, bpack + n * plan.bs, gwt);
    });
  }
}

template <typename T>
void grad_weight_gemm(const T* go, const T* x, T* gw, const Shape& s) {
  const KernelSet<T> ks = kernels<T>();
  const Plan<T> plan(s, ks);
  const int64_t KK = plan.KK, cg_in = plan.cg_in, cg_out = plan.cg_out;
  std::vector<T> gwt(KK * s.C_in * cg_out, T(0));
  // Sample chunks: up to 16, and partials of at most 8 MiB in all.
  const int64_t partial_bytes = int64_t(sizeof(T)) * KK * s.C_in * cg_out;
  const int64_t chunks = std::min<int64_t>({s.N, 16, (int64_t(8) << 20) / partial_bytes});
  if (plan.tiles() < 128 && chunks >= 4)
    grad_weight_by_samples(go, x, gwt.data(), plan, chunks);
  else
    grad_weight_by_tiles(go, x, gwt.data(), plan);
  // gw[co][ci][t] = gwt[t][ci][co % cg_out] (ci over all input channels, co in ci's group).
  parallel_for(s.C_out, 1, [&](int64_t begin, int64_t end) {
    for (int64_t co = begin; co < end; ++co) {
      const int64_t grp = co / cg_out;
      for (int64_t ci = 0; ci < cg_in; ++ci)
        for (int64_t t = 0; t < KK; ++t)
          gw[(co * cg_in + ci) * KK + t] =
              gwt[(t * s.C_in + grp * cg_in + ci) * cg_out + co % cg_out];
    }
  });
}

}  // namespace

void grad_weight(const float* go, const float* x, float* gw, const Shape& s) {
  grad_weight_gemm(go, x, gw, s);
}
void grad_weight(const double* go, const double* x, double* gw, const Shape& s) {
  grad_weight_gemm(go, x, gw, s);
}

}  // namespace trip::cpu::conv_direct
