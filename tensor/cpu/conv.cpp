// N-d convolution on the CPU, forward and backward, as GEMMs (tensor/cpu/gemm.h).
//
// Every conv is seen as 3-d (a conv1d/2d gets leading spatial dims of size 1), so one code path
// serves all ranks. Three strategies, tried in this order:
// - direct path (conv_direct.h): stride-1 "same" convs with more than one tap (3x3 padding 1,
//   (3,1,1) padding (1,0,0), 3x3x3, dilated ones) on an AVX-512 or AVX2 CPU: forward and grad_input
//   (its transposed-conv view is again a same conv) by a register-blocked kernel that reads
//   shifted input vectors with masked loads, grad_weight by the GEMM micro-kernels over a
//   zero-padded copy (conv_gw.cpp). No im2col; 1.5-2x faster than the paths below at 64
//   channels with AVX-512, 1.2-1.8x with AVX2 (bench/RESULTS.md).
// - shift path: when the kernel extends along at most one axis `a`, every axis before `a` has
//   size 1 and there is no stride/padding elsewhere, e.g. the temporal (3,1,1) conv of video
//   UNets, 1x1 convs and stride-1 conv1d. Then out = sum_t W[:, :, t] @ x shifted by t along a,
//   where each shifted operand is a contiguous slab of x: KT plain GEMMs, no im2col at all.
// - general path: vol2col of a tile (one sample, a block of output rows; a row is the last
//   output dim) into a per-thread buffer [G][C_in/G * K][tile], then one GEMM per group. Tiles
//   keep every temporary under g_chunk_bytes / 16 (cache-sized) whatever the sample size, and
//   tiles of different samples run in parallel. Backward: grad_input, with stride 1, as the
//   forward conv of grad_out with the flipped weight (transposed-conv view), else by
//   W^T @ grad_out into columns and col2im (one sample per task, its tiles in order);
//   grad_weight by grad_out @ col^T summed over tiles into a fixed number of partials, added in
//   order.
// The GEMM never splits K across threads and every other loop writes disjoint outputs in a fixed
// order, so results do not depend on the thread count. f16/bf16 run in f32 and round on store.
#include <algorithm>
#include <cstring>

#include "tensor/cpu/conv_direct.h"
#include "tensor/cpu/gemm.h"
#include "tensor/cpu/kernels.h"
#include "tensor/cpu/parallel.h"

namespace trip::cpu {

// Memory budget: each thread's tile columns take at most 1/16 of it (4 MiB: cache-sized), at
// least one output row. Tests lower it to get many tiles from small shapes (they declare the
// setter themselves: it is no API).
static int64_t g_chunk_bytes = int64_t(64) << 20;
void set_conv_chunk_bytes_for_testing(int64_t bytes) { g_chunk_bytes = bytes; }

namespace {

struct Geo {
  int64_t N, C_in, C_out, G, Cg_in, Cg_out;
  int64_t in[3], k[3], out[3], s[3], p[3], d[3];
  int64_t L_in, L_out, KK, Kg;  // spatial sizes, kernel volume, GEMM depth per group
};

Geo make_geo(const Tensor& input, const Tensor& weight, const ConvParams& cp) {
  Geo g{};
  g.N = input.size(0), g.C_in = input.size(1), g.C_out = weight.size(0), g.G = cp.groups;
  g.Cg_in = g.C_in / g.G, g.Cg_out = g.C_out / g.G;
  int off = 3 - cp.spatial;
  for (int i = 0; i < 3; ++i) g.in[i] = g.k[i] = g.out[i] = g.s[i] = g.d[i] = 1, g.p[i] = 0;
  for (int i = 0; i < cp.spatial; ++i) {
    int j = off + i;
    g.in[j] = input.size(2 + i), g.k[j] = weight.size(2 + i);
    g.s[j] = cp.stride[i], g.p[j] = cp.padding[i], g.d[j] = cp.dilation[i];
    g.out[j] = (g.in[j] + 2 * g.p[j] - g.d[j] * (g.k[j] - 1) - 1) / g.s[j] + 1;
  }
  g.L_in = g.in[0] * g.in[1] * g.in[2];
  g.L_out = g.out[0] * g.out[1] * g.out[2];
  g.KK = g.k[0] * g.k[1] * g.k[2];
  g.Kg = g.Cg_in * g.KK;
  return g;
}

// The direct kernels (conv_direct.h) take stride-1 "same" convs with more than one tap on an
// AVX-512 or AVX2 CPU: no im2col, each output summed in registers.
bool direct(const Geo& g, conv_direct::Shape& s) {
  for (int i = 0; i < 3; ++i)
    if (g.s[i] != 1) return false;
  s = {g.N, g.C_in, g.C_out, g.G, {}, {}, {}, {}};
  for (int i = 0; i < 3; ++i) s.in[i] = g.in[i], s.k[i] = g.k[i], s.p[i] = g.p[i], s.d[i] = g.d[i];
  return conv_direct::applies(s);
}

// The axis of the shift path, or -1 when the conv does not qualify (see the file comment).
int shift_axis(const Geo& g) {
  for (int i = 0; i < 3; ++i)
    if (g.s[i] != 1) return -1;
  int a = 0;
  while (a < 2 && g.k[a] == 1 && g.in[a] == 1) ++a;
  for (int j = 0; j < 3; ++j) {
    if (j == a) continue;
    if (g.k[j] != 1 || g.p[j] != 0) return -1;
    if (j < a && g.in[j] != 1) return -1;
  }
  return a;
}

void gemm(int64_t batch, int64_t M, int64_t N, int64_t K, const float* a, int64_t a_bs,
          int64_t a_rs, int64_t a_cs, const float* b, int64_t b_bs, int64_t b_rs, int64_t b_cs,
          float* c, int64_t c_bs, int64_t c_rs, bool acc) {
  gemm_f32(batch, M, N, K, a, a_bs, a_rs, a_cs, b, b_bs, b_rs, b_cs, c, c_bs, c_rs, acc);
}
void gemm(int64_t batch, int64_t M, int64_t N, int64_t K, const double* a, int64_t a_bs,
          int64_t a_rs, int64_t a_cs, const double* b, int64_t b_bs, int64_t b_rs, int64_t b_cs,
          double* c, int64_t c_bs, int64_t c_rs, bool acc) {
  gemm_f64(batch, M, N, K, a, a_bs, a_rs, a_cs, b, b_bs, b_rs, b_cs, c, c_bs, c_rs, acc);
}

int64_t row_grain(int64_t row_len) { return std::max<int64_t>(1, kElementwiseGrain / row_len); }

// Valid output range [lo, hi) along a shift axis for kernel tap t: the input index o*1 - p + t*d
// must lie in [0, in).
void tap_range(const Geo& g, int a, int64_t t, int64_t& lo, int64_t& hi) {
  int64_t shift = t * g.d[a] - g.p[a];
  lo = std::max<int64_t>(0, -shift);
  hi = std::min<int64_t>(g.out[a], g.in[a] - shift);
}

// Output rows [r0, r1) (row r = od * out[1] + oh, out[2] values each) of one vol2col row: the
// input plane seen through kernel tap (kd, kh, kw).
template <typename T>
void im2col_row(const T* plane, T* dst, const Geo& g, int64_t r0, int64_t r1, int64_t kd,
                int64_t kh, int64_t kw) {
  int64_t w_off = kw * g.d[2] - g.p[2];
  // With stride 1 the valid ow form one range: copy it, zero the borders.
  int64_t lo = std::clamp<int64_t>(-w_off, 0, g.out[2]);
  int64_t hi = std::clamp<int64_t>(g.in[2] - w_off, lo, g.out[2]);
  for (int64_t r = r0; r < r1; ++r, dst += g.out[2]) {
    int64_t id = r / g.out[1] * g.s[0] - g.p[0] + kd * g.d[0];
    int64_t ih = r % g.out[1] * g.s[1] - g.p[1] + kh * g.d[1];
    if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1]) {
      std::fill(dst, dst + g.out[2], T(0));
      continue;
    }
    const T* src = plane + (id * g.in[1] + ih) * g.in[2];
    if (g.s[2] == 1) {
      std::fill(dst, dst + lo, T(0));
      std::memcpy(dst + lo, src + lo + w_off, sizeof(T) * (hi - lo));
      std::fill(dst + hi, dst + g.out[2], T(0));
    } else {
      for (int64_t ow = 0; ow < g.out[2]; ++ow) {
        int64_t iw = ow * g.s[2] + w_off;
        dst[ow] = iw >= 0 && iw < g.in[2] ? src[iw] : T(0);
      }
    }
  }
}

// A tile: sample n, output rows [r0, r1); its columns are (r1 - r0) * out[2] wide.
struct Tile {
  int64_t n, r0, r1;
};

// col [G][Kg][tile width] of a tile of x.
template <typename T>
void im2col(const T* x, T* col, const Geo& g, Tile t) {
  int64_t width = (t.r1 - t.r0) * g.out[2];
  parallel_for(g.G * g.Kg, row_grain(width), [&](int64_t begin, int64_t end) {
    for (int64_t gk = begin; gk < end; ++gk) {
      int64_t kk = gk % g.Kg, c = gk / g.Kg * g.Cg_in + kk / g.KK, tap = kk % g.KK;
      int64_t kd = tap / (g.k[1] * g.k[2]), kh = tap / g.k[2] % g.k[1], kw = tap % g.k[2];
      im2col_row(x + (t.n * g.C_in + c) * g.L_in, col + gk * width, g, t.r0, t.r1, kd, kh, kw);
    }
  });
}

// The adjoint of im2col: adds a tile's columns into the grad_input planes of its sample; each
// plane is owned by one task and summed over taps in a fixed order.
template <typename T>
void col2im(const T* col, T* gx, const Geo& g, Tile t) {
  int64_t width = (t.r1 - t.r0) * g.out[2];
  parallel_for(g.C_in, row_grain(width * g.KK), [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      int64_t grp = c / g.Cg_in, ci = c % g.Cg_in;
      T* plane = gx + (t.n * g.C_in + c) * g.L_in;
      for (int64_t tap = 0; tap < g.KK; ++tap) {
        int64_t kd = tap / (g.k[1] * g.k[2]), kh = tap / g.k[2] % g.k[1], kw = tap % g.k[2];
        const T* src = col + (grp * g.Kg + ci * g.KK + tap) * width;
        for (int64_t r = t.r0; r < t.r1; ++r, src += g.out[2]) {
          int64_t id = r / g.out[1] * g.s[0] - g.p[0] + kd * g.d[0];
          int64_t ih = r % g.out[1] * g.s[1] - g.p[1] + kh * g.d[1];
          if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1]) continue;
          T* dst = plane + (id * g.in[1] + ih) * g.in[2];
          for (int64_t ow = 0; ow < g.out[2]; ++ow) {
            int64_t iw = ow * g.s[2] - g.p[2] + kw * g.d[2];
            if (iw >= 0 && iw < g.in[2]) dst[iw] += src[ow];
          }
        }
      }
    }
  });
}

// out planes = bias[c] (or 0), before the shift path accumulates into them.
template <typename T>
void init_out(T* out, const T* bias, const Geo& g) {
  parallel_for(g.N * g.C_out, row_grain(g.L_out), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      std::fill(out + r * g.L_out, out + (r + 1) * g.L_out, bias ? bias[r % g.C_out] : T(0));
  });
}

// Output rows per tile: the tile's columns fit in g_chunk_bytes / 16 (at least one row).
// Depends on the problem only, so the thread count never changes the arithmetic.
int64_t rows_per_tile(const Geo& g, int64_t elem_bytes) {
  int64_t row_bytes = g.C_in * g.KK * g.out[2] * elem_bytes;
  return std::clamp<int64_t>(g_chunk_bytes / 16 / row_bytes, 1, g.out[0] * g.out[1]);
}

template <typename T>
Tensor scratch(int64_t n) {
  return empty({n}, TensorOptions(dtype_of<T>(), kCPU));
}

// One scratch buffer per OpenMP thread for per-sample tasks, allocated once per call: fresh
// allocations per task cost page faults (measured ~10% of a conv2d). Only memory depends on the
// thread count, never the arithmetic.
template <typename T>
class ThreadBuffers {
 public:
  explicit ThreadBuffers(int64_t elems)
      : elems_(elems),
        nested_(omp_in_parallel()),
        storage_(scratch<T>(elems * (nested_ ? 1 : omp_get_max_threads()))) {}
  T* get() const {
    return static_cast<T*>(storage_.data_ptr()) + (nested_ ? 0 : omp_get_thread_num()) * elems_;
  }

 private:
  int64_t elems_;
  bool nested_;
  Tensor storage_;
};

template <typename T>
void forward_impl(const T* x, const T* w, const T* bias, T* out, const Geo& g) {
  conv_direct::Shape ds;
  if (direct(g, ds)) return conv_direct::forward(x, w, bias, out, ds);
  int a = shift_axis(g);
  if (a >= 0) {
    init_out(out, bias, g);
    int64_t inner = g.L_in / g.in[a], KT = g.k[a];
    for (int64_t grp = 0; grp < g.G; ++grp)
      for (int64_t t = 0; t < KT; ++t) {
        int64_t lo, hi;
        tap_range(g, a, t, lo, hi);
        if (lo >= hi) continue;
        int64_t src = lo + t * g.d[a] - g.p[a];
        gemm(g.N, g.Cg_out, (hi - lo) * inner, g.Cg_in, w + grp * g.Cg_out * g.Kg + t, 0, g.Kg, KT,
             x + grp * g.Cg_in * g.L_in + src * inner, g.C_in * g.L_in, g.L_in, 1,
             out + grp * g.Cg_out * g.L_out + lo * inner, g.C_out * g.L_out, g.L_out, true);
      }
    return;
  }
  int64_t rows = g.out[0] * g.out[1], rb = rows_per_tile(g, sizeof(T));
  int64_t blocks = (rows + rb - 1) / rb;
  ThreadBuffers<T> cols(g.C_in * g.KK * rb * g.out[2]);
  // Tiles write disjoint outputs: all of them run in parallel.
  parallel_for(g.N * blocks, 1, [&](int64_t begin, int64_t end) {
    T* col = cols.get();
    for (int64_t i = begin; i < end; ++i) {
      Tile t{i / blocks, i % blocks * rb, std::min(rows, (i % blocks + 1) * rb)};
      int64_t width = (t.r1 - t.r0) * g.out[2];
      T* out_tile = out + t.n * g.C_out * g.L_out + t.r0 * g.out[2];
      im2col(x, col, g, t);
      // The bias goes in first and the GEMM accumulates onto it: no second pass over out.
      if (bias)
        for (int64_t c = 0; c < g.C_out; ++c)
          std::fill(out_tile + c * g.L_out, out_tile + c * g.L_out + width, bias[c]);
      for (int64_t grp = 0; grp < g.G; ++grp)
        gemm(1, g.Cg_out, width, g.Kg, w + grp * g.Cg_out * g.Kg, 0, g.Kg, 1,
             col + grp * g.Kg * width, 0, width, 1, out_tile + grp * g.Cg_out * g.L_out, 0, g.L_out,
             bias != nullptr);
    }
  });
}

// With stride 1 everywhere, grad_input is itself a forward conv (the transposed-conv view):
// grad_out padded by d(k-1)-p, correlated with the weight flipped in space and with in/out
// channels swapped per group. That is one im2col + GEMM per tile, as fast as the forward, rather
// than a thin GEMM into K-times-larger columns and col2im. Returns false where it does not apply
// (a stride > 1, or padding beyond d(k-1)).
template <typename T>
bool transposed_forward(const Geo& g, const T* w, T* gx, const T* go) {
  Geo t = g;
  for (int i = 0; i < 3; ++i) {
    if (g.s[i] != 1 || g.p[i] > g.d[i] * (g.k[i] - 1)) return false;
    t.in[i] = g.out[i], t.out[i] = g.in[i], t.p[i] = g.d[i] * (g.k[i] - 1) - g.p[i];
  }
  t.C_in = g.C_out, t.C_out = g.C_in, t.Cg_in = g.Cg_out, t.Cg_out = g.Cg_in;
  t.L_in = g.L_out, t.L_out = g.L_in, t.Kg = t.Cg_in * t.KK;
  // w_t[grp * Cg_in + ci][co][tap'] = w[grp * Cg_out + co][ci][KK - 1 - tap'].
  Tensor wt_t = scratch<T>(g.C_out * g.Kg);
  T* wt = static_cast<T*>(wt_t.data_ptr());
  for (int64_t grp = 0; grp < g.G; ++grp)
    for (int64_t co = 0; co < g.Cg_out; ++co)
      for (int64_t ci = 0; ci < g.Cg_in; ++ci)
        for (int64_t tap = 0; tap < g.KK; ++tap)
          wt[((grp * g.Cg_in + ci) * g.Cg_out + co) * g.KK + tap] =
              w[((grp * g.Cg_out + co) * g.Cg_in + ci) * g.KK + g.KK - 1 - tap];
  forward_impl<T>(go, wt, nullptr, gx, t);
  return true;
}

template <typename T>
void backward_impl(const T* go, const T* x, const T* w, T* gx, T* gw, T* gb, const Geo& g) {
  if (gb)  // sum over n and l, one channel per task, samples in order
    parallel_for(g.C_out, 1, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        // 8 interleaved partial sums (vectorisable, fixed order), added at the end.
        double part[8] = {};
        for (int64_t n = 0; n < g.N; ++n) {
          const T* row = go + (n * g.C_out + c) * g.L_out;
          int64_t l = 0;
          for (; l + 8 <= g.L_out; l += 8)
            for (int j = 0; j < 8; ++j) part[j] += double(row[l + j]);
          for (; l < g.L_out; ++l) part[l % 8] += double(row[l]);
        }
        double s = 0;
        for (double v : part) s += v;
        gb[c] = T(s);
      }
    });
  if (!gx && !gw) return;
  conv_direct::Shape ds;
  int a = shift_axis(g);
  if (direct(g, ds)) {
    if (gx) transposed_forward(g, w, gx, go);  // a "same" conv, again taken by the direct kernel
    gx = nullptr;
    // A (3,1,1)-like conv's grad_weight stays on the shift path's plain GEMMs: as fast at 16x16
    // planes and 25% faster at 32x32, where the padded copies of conv_gw.cpp outgrow L2.
    if (gw && a < 0) conv_direct::grad_weight(go, x, gw, ds);
    if (!gw || a < 0) return;
  }
  if (a >= 0) {
    int64_t inner = g.L_in / g.in[a], KT = g.k[a];
    if (gx) std::fill(gx, gx + g.N * g.C_in * g.L_in, T(0));
    // grad_weight as [G][KT][Cg_out][Cg_in] (GEMM rows must be contiguous), permuted at the end.
    Tensor tw_t = gw ? scratch<T>(g.G * KT * g.Cg_out * g.Cg_in) : Tensor();
    T* tw = gw ? static_cast<T*>(tw_t.data_ptr()) : nullptr;
    for (int64_t grp = 0; grp < g.G; ++grp)
      for (int64_t t = 0; t < KT; ++t) {
        int64_t lo, hi;
        tap_range(g, a, t, lo, hi);
        T* twb = tw ? tw + (grp * KT + t) * g.Cg_out * g.Cg_in : nullptr;
        if (lo >= hi) {
          if (twb) std::fill(twb, twb + g.Cg_out * g.Cg_in, T(0));
          continue;
        }
        int64_t src = lo + t * g.d[a] - g.p[a], cols = (hi - lo) * inner;
        const T* gob = go + grp * g.Cg_out * g.L_out + lo * inner;
        const T* xb = x + grp * g.Cg_in * g.L_in + src * inner;
        if (gx)
          gemm(g.N, g.Cg_in, cols, g.Cg_out, w + grp * g.Cg_out * g.Kg + t, 0, KT, g.Kg, gob,
               g.C_out * g.L_out, g.L_out, 1, gx + grp * g.Cg_in * g.L_in + src * inner,
               g.C_in * g.L_in, g.L_in, true);
        if (twb)
          for (int64_t n = 0; n < g.N; ++n)
            gemm(1, g.Cg_out, g.Cg_in, cols, gob + n * g.C_out * g.L_out, 0, g.L_out, 1,
                 xb + n * g.C_in * g.L_in, 0, 1, g.L_in, twb, 0, g.Cg_in, n > 0);
      }
    if (gw)
      for (int64_t grp = 0; grp < g.G; ++grp)
        for (int64_t t = 0; t < KT; ++t)
          for (int64_t o = 0; o < g.Cg_out; ++o)
            for (int64_t ci = 0; ci < g.Cg_in; ++ci)
              gw[((grp * g.Cg_out + o) * g.Cg_in + ci) * KT + t] =
                  tw[((grp * KT + t) * g.Cg_out + o) * g.Cg_in + ci];
    return;
  }
  int64_t rows = g.out[0] * g.out[1], rb = rows_per_tile(g, sizeof(T));
  int64_t blocks = (rows + rb - 1) / rb;
  ThreadBuffers<T> cols(g.C_in * g.KK * rb * g.out[2]);
  auto tile = [&](int64_t n, int64_t b) { return Tile{n, b * rb, std::min(rows, (b + 1) * rb)}; };
  if (gx && transposed_forward(g, w, gx, go)) gx = nullptr;  // done
  if (gx)  // tiles of one sample overlap in grad_input: one task per sample, its tiles in order
    parallel_for(g.N, 1, [&](int64_t begin, int64_t end) {
      T* colg = cols.get();
      for (int64_t n = begin; n < end; ++n) {
        std::fill(gx + n * g.C_in * g.L_in, gx + (n + 1) * g.C_in * g.L_in, T(0));
        for (int64_t b = 0; b < blocks; ++b) {
          Tile t = tile(n, b);
          int64_t width = (t.r1 - t.r0) * g.out[2];
          for (int64_t grp = 0; grp < g.G; ++grp)
            gemm(1, g.Kg, width, g.Cg_out, w + grp * g.Cg_out * g.Kg, 0, 1, g.Kg,
                 go + (n * g.C_out + grp * g.Cg_out) * g.L_out + t.r0 * g.out[2], 0, g.L_out, 1,
                 colg + grp * g.Kg * width, 0, width, false);
          col2im(colg, gx, g, t);
        }
      }
    });
  if (!gw) return;
  // A fixed number of sample groups (by problem size, not thread count) each sum their tiles'
  // grad_out @ col^T into a partial; the partials are then added in group order.
  int64_t parts = std::min<int64_t>(g.N, 16), wsize = g.C_out * g.Kg;
  Tensor partial_t = scratch<T>(parts * wsize);
  T* partial = static_cast<T*>(partial_t.data_ptr());
  parallel_for(parts, 1, [&](int64_t begin, int64_t end) {
    T* col = cols.get();
    for (int64_t q = begin; q < end; ++q)
      for (int64_t n = g.N * q / parts; n < g.N * (q + 1) / parts; ++n)
        for (int64_t b = 0; b < blocks; ++b) {
          Tile t = tile(n, b);
          int64_t width = (t.r1 - t.r0) * g.out[2];
          im2col(x, col, g, t);
          bool first = n == g.N * q / parts && b == 0;
          for (int64_t grp = 0; grp < g.G; ++grp)
            gemm(1, g.Cg_out, g.Kg, width,
                 go + (n * g.C_out + grp * g.Cg_out) * g.L_out + t.r0 * g.out[2], 0, g.L_out, 1,
                 col + grp * g.Kg * width, 0, 1, width, partial + q * wsize + grp * g.Cg_out * g.Kg,
                 0, g.Kg, !first);
        }
  });
  parallel_for(wsize, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      T s = partial[i];
      for (int64_t q = 1; q < parts; ++q) s += partial[q * wsize + i];
      gw[i] = s;
    }
  });
}

// Pointer to t's data as T (nullptr for an undefined tensor: "not wanted" / "no bias").
template <typename T>
T* ptr(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.data_ptr()) : nullptr;
}

// 16-bit tensors are computed in f32: an f32 copy of an input (copy=true) or an f32 buffer for
// an output; other tensors are used as they are.
Tensor in_compute_type(const Tensor& t, bool copy_values) {
  if (!t.defined() || (t.dtype() != DType::f16 && t.dtype() != DType::bf16)) return t;
  Tensor f = empty(t.shape(), TensorOptions(DType::f32, kCPU));
  if (copy_values) copy(t, f);
  return f;
}
void store(const Tensor& computed, const Tensor& out) {
  if (out.defined() && !computed.is_same(out)) copy(computed, out);
}

}  // namespace

void conv_forward(const Tensor& input, const Tensor& weight, const Tensor& bias, const Tensor& out,
                  const ConvParams& p) {
  Geo g = make_geo(input, weight, p);
  Tensor x = in_compute_type(input, true), w = in_compute_type(weight, true);
  Tensor b = in_compute_type(bias, true), o = in_compute_type(out, false);
  if (x.dtype() == DType::f64)
    forward_impl(ptr<const double>(x), ptr<const double>(w), ptr<const double>(b), ptr<double>(o),
                 g);
  else
    forward_impl(ptr<const float>(x), ptr<const float>(w), ptr<const float>(b), ptr<float>(o), g);
  store(o, out);
}

void conv_backward(const Tensor& grad_out, const Tensor& input, const Tensor& weight,
                   const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias,
                   const ConvParams& p) {
  Geo g = make_geo(input, weight, p);
  Tensor go = in_compute_type(grad_out, true), x = in_compute_type(input, true);
  Tensor w = in_compute_type(weight, true), gx = in_compute_type(grad_input, false);
  Tensor gw = in_compute_type(grad_weight, false), gb = in_compute_type(grad_bias, false);
  if (x.dtype() == DType::f64)
    backward_impl(ptr<const double>(go), ptr<const double>(x), ptr<const double>(w),
                  ptr<double>(gx), ptr<double>(gw), ptr<double>(gb), g);
  else
    backward_impl(ptr<const float>(go), ptr<const float>(x), ptr<const float>(w), ptr<float>(gx),
                  ptr<float>(gw), ptr<float>(gb), g);
  store(gx, grad_input);
  store(gw, grad_weight);
  store(gb, grad_bias);
}

}  // namespace trip::cpu
