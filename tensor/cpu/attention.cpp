// CPU scaled dot-product attention, flash-attention style (Dao et al. 2022, Alg. 1 and 2).
// Forward: per (batch-head, query tile) the key tiles are visited in order with an online softmax
// (running row max m and sum l; earlier partial outputs are rescaled by exp(m_old - m_new)), so
// only a Bq x Bk block of scores ever exists. Short sequences (temporal attention: L = 8..16 with
// thousands of batch-heads) take a batched path instead: a group of batch-heads is one batched
// GEMM, an exact softmax, another batched GEMM, so there is no per-tile overhead.
// Backward recomputes P = exp(S * scale - lse) per tile from the saved log-sum-exp, then
//   dV += P^T dO,  dP = dO V^T,  dS = P * (dP - rowsum(dO * O)),  dQ += dS K * s,  dK += dS^T Q *
//   s.
// Determinism: every output row (forward) and every batch-head (backward) is computed by one
// thread in a fixed tile order, and our GEMM is thread-count independent, so results do not
// depend on the number of threads. 16-bit inputs are computed in f32 (converted copies).
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "tensor/cpu/gemm.h"
#include "tensor/cpu/kernels.h"
#include "tensor/cpu/parallel.h"
#include "tensor/cpu/vec_math.h"
#include "tensor/ops.h"

namespace trip::cpu {

namespace {

// Tile sizes: a 64 x 256 f32 score block (64 KiB) and a 64 x Dh accumulator stay in L2 of one
// core; rows of 256 keys keep the softmax loops long enough to vectorise well.
constexpr int64_t kTileQ = 64;
constexpr int64_t kTileK = 256;
// Backward holds P, dP and dS blocks together: square tiles, 2 x 64 KiB. 128 rather than 64: with
// the tiny heads of small UNets (head dim 8..16) each block's five GEMMs are short, and larger
// blocks halve their per-call packing; measured 10% faster backward at 128 heads x 1024 x 2048 x
// 16 (256 gains no more).
constexpr int64_t kBwdTile = 128;
// Problems with Lq * Lk up to this many scores per batch-head use the batched short path.
constexpr int64_t kShortScores = kTileQ * kTileK;

// C = A @ B for one matrix (see gemm.h for the stride convention).
template <typename T>
void mm(int64_t M, int64_t N, int64_t K, const T* a, int64_t a_rs, int64_t a_cs, const T* b,
        int64_t b_rs, int64_t b_cs, T* c, int64_t c_rs, bool accumulate, int64_t batch = 1,
        int64_t a_bs = 0, int64_t b_bs = 0, int64_t c_bs = 0) {
  if constexpr (std::is_same_v<T, float>) {
    gemm_f32(batch, M, N, K, a, a_bs, a_rs, a_cs, b, b_bs, b_rs, b_cs, c, c_bs, c_rs, accumulate);
  } else {
    gemm_f64(batch, M, N, K, a, a_bs, a_rs, a_cs, b, b_bs, b_rs, b_cs, c, c_bs, c_rs, accumulate);
  }
}

// exp that vectorises for f32 (vec_math.h, ~1e-7 relative error); libm for f64.
template <typename T>
inline T fast_exp(T x) {
  if constexpr (std::is_same_v<T, float>) {
    return exp_approx(x);
  } else {
    return std::exp(x);
  }
}

template <typename T>
struct Dims4 {
  int64_t bh, lq, lk, dh;
};

// Exact softmax over full score rows (the short path): rows of s (length lk, stride ld) become
// the unnormalised exp(x - m); returns nothing, writes m + log(l) to lse and 1/l to inv.
template <typename T>
void softmax_rows(T* s, int64_t rows, int64_t lk, int64_t ld, T scale, T* lse, T* inv) {
  for (int64_t r = 0; r < rows; ++r) {
    T* x = s + r * ld;
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t j = 0; j < lk; ++j) m = x[j] * scale > m ? x[j] * scale : m;
    if (m == -std::numeric_limits<T>::infinity()) m = 0;  // keep exp finite
    T l = 0;
#pragma omp simd reduction(+ : l)
    for (int64_t j = 0; j < lk; ++j) {
      T e = fast_exp<T>(x[j] * scale - m);
      x[j] = e;
      l += e;
    }
    lse[r] = m + std::log(l);
    inv[r] = T(1) / l;
  }
}

// Short sequences: a chunk of batch-heads [b0, b1) at once, the whole score matrix per head.
template <typename T>
void forward_short(const T* q, const T* k, const T* v, T* out, T* lse, Dims4<T> d, T scale,
                   int64_t b0, int64_t b1) {
  int64_t g = b1 - b0, lq = d.lq, lk = d.lk, dh = d.dh;
  std::vector<T> s(size_t(g * lq * lk)), inv(size_t(g * lq));
  const T* qb = q + b0 * lq * dh;
  const T* kb = k + b0 * lk * dh;
  // S = Q K^T for every head of the group: B(d, j) = k[j * dh + d].
  mm<T>(lq, lk, dh, qb, dh, 1, kb, 1, dh, s.data(), lk, false, g, lq * dh, lk * dh, lq * lk);
  softmax_rows<T>(s.data(), g * lq, lk, lk, scale, lse + b0 * lq, inv.data());
  T* ob = out + b0 * lq * dh;
  mm<T>(lq, dh, lk, s.data(), lk, 1, v + b0 * lk * dh, dh, 1, ob, dh, false, g, lq * lk, lk * dh,
        lq * dh);
  for (int64_t r = 0; r < g * lq; ++r) {
    T* row = ob + r * dh;  // a row pointer keeps GCC from vectorising over rows with gathers
    const T f = inv[size_t(r)];
#pragma omp simd
    for (int64_t c = 0; c < dh; ++c) row[c] *= f;
  }
}

// Long sequences: query rows [i0, i0 + nq) of batch-head b, online softmax over key tiles.
template <typename T>
void forward_tile(const T* q, const T* k, const T* v, T* out, T* lse, Dims4<T> d, T scale,
                  int64_t b, int64_t i0, int64_t nq, std::vector<T>& s, std::vector<T>& m,
                  std::vector<T>& l) {
  int64_t lq = d.lq, lk = d.lk, dh = d.dh;
  const T* qt = q + (b * lq + i0) * dh;
  const T* kb = k + b * lk * dh;
  const T* vb = v + b * lk * dh;
  T* acc = out + (b * lq + i0) * dh;  // accumulate straight into the output rows
  const T neg_inf = -std::numeric_limits<T>::infinity();
  for (int64_t r = 0; r < nq; ++r) m[r] = neg_inf, l[r] = 0;
  for (int64_t j0 = 0; j0 < lk; j0 += kTileK) {
    int64_t nk = std::min(kTileK, lk - j0);
    mm<T>(nq, nk, dh, qt, dh, 1, kb + j0 * dh, 1, dh, s.data(), kTileK, false);
    for (int64_t r = 0; r < nq; ++r) {
      T* x = s.data() + r * kTileK;
      T mx = m[r];
      for (int64_t j = 0; j < nk; ++j) mx = x[j] * scale > mx ? x[j] * scale : mx;
      if (mx == neg_inf) mx = 0;         // keep exp finite
      T alpha = fast_exp<T>(m[r] - mx);  // 0 on the first tile (m = -inf)
      T sum = 0;
#pragma omp simd reduction(+ : sum)
      for (int64_t j = 0; j < nk; ++j) {
        T e = fast_exp<T>(x[j] * scale - mx);
        x[j] = e;
        sum += e;
      }
      l[r] = l[r] * alpha + sum;
      m[r] = mx;
      T* o = acc + r * dh;
      if (j0 == 0) {
        // First tile: the output rows still hold whatever the allocator left (maybe NaN).
#pragma omp simd
        for (int64_t c = 0; c < dh; ++c) o[c] = 0;
      } else if (alpha != T(1)) {
#pragma omp simd
        for (int64_t c = 0; c < dh; ++c) o[c] *= alpha;
      }
    }
    mm<T>(nq, dh, nk, s.data(), kTileK, 1, vb + j0 * dh, dh, 1, acc, dh, true);
  }
  for (int64_t r = 0; r < nq; ++r) {
    T inv = T(1) / l[r];
    T* row = acc + r * dh;
#pragma omp simd
    for (int64_t c = 0; c < dh; ++c) row[c] *= inv;
    lse[b * lq + i0 + r] = m[r] + std::log(l[r]);
  }
}

template <typename T>
void forward_typed(const T* q, const T* k, const T* v, T* out, T* lse, Dims4<T> d, T scale) {
  // Work per chunk of about this many multiply-adds amortises a thread's start-up.
  constexpr int64_t kChunkWork = 1 << 18;
  if (d.lq * d.lk <= kShortScores) {
    int64_t per_head = std::max<int64_t>(1, d.lq * d.lk * d.dh * 2);
    int64_t grain = std::clamp<int64_t>(kChunkWork / per_head, 1, kShortScores / (d.lq * d.lk));
    parallel_for(d.bh, grain, [&](int64_t b0, int64_t b1) {
      forward_short<T>(q, k, v, out, lse, d, scale, b0, b1);
    });
    return;
  }
  int64_t tiles = (d.lq + kTileQ - 1) / kTileQ;
  parallel_for(d.bh * tiles, 1, [&](int64_t t0, int64_t t1) {
    std::vector<T> s(size_t(kTileQ * kTileK)), m(kTileQ), l(kTileQ);
    for (int64_t t = t0; t < t1; ++t) {
      int64_t b = t / tiles, i0 = (t % tiles) * kTileQ;
      forward_tile<T>(q, k, v, out, lse, d, scale, b, i0, std::min(kTileQ, d.lq - i0), s, m, l);
    }
  });
}

// What every backward tile needs: the operands, the saved lse and delta = rowsum(dO * O).
template <typename T>
struct BackwardArgs {
  const T *go, *q, *k, *v, *lse, *delta;
  T *gq, *gk, *gv;
  Dims4<T> d;
  T scale;
};

// The (query tile i0, key tile j0) block of head b: recomputes P = exp(S * scale - lse) into p and
// dS * scale = P * (dO V^T - delta) * scale into ds (both with row stride kBwdTile).
template <typename T>
void recompute_tile(const BackwardArgs<T>& a, int64_t b, int64_t i0, int64_t nq, int64_t j0,
                    int64_t nk, T* p, T* ds) {
  int64_t lq = a.d.lq, lk = a.d.lk, dh = a.d.dh, t = kBwdTile;
  const T* qt = a.q + (b * lq + i0) * dh;
  const T* got = a.go + (b * lq + i0) * dh;
  mm<T>(nq, nk, dh, qt, dh, 1, a.k + (b * lk + j0) * dh, 1, dh, p, t, false);    // S = Q K^T
  mm<T>(nq, nk, dh, got, dh, 1, a.v + (b * lk + j0) * dh, 1, dh, ds, t, false);  // dP = dO V^T
  const T s = a.scale;
  for (int64_t r = 0; r < nq; ++r) {
    T* pr = p + r * t;
    T* dr = ds + r * t;
    T li = a.lse[b * lq + i0 + r], di = a.delta[b * lq + i0 + r];
#pragma omp simd
    for (int64_t j = 0; j < nk; ++j) {
      T pj = fast_exp<T>(pr[j] * s - li);
      pr[j] = pj;
      dr[j] = pj * (dr[j] - di) * s;  // the scale of dQ and dK folded in
    }
  }
}

// dV_j += P^T dO_i and dK_j += dS^T Q_i for the block; `first` overwrites (poisoned memory).
template <typename T>
void accumulate_kv(const BackwardArgs<T>& a, int64_t b, int64_t i0, int64_t nq, int64_t j0,
                   int64_t nk, const T* p, const T* ds, bool first) {
  int64_t lq = a.d.lq, lk = a.d.lk, dh = a.d.dh, t = kBwdTile;
  mm<T>(nk, dh, nq, p, 1, t, a.go + (b * lq + i0) * dh, dh, 1, a.gv + (b * lk + j0) * dh, dh,
        !first);
  mm<T>(nk, dh, nq, ds, 1, t, a.q + (b * lq + i0) * dh, dh, 1, a.gk + (b * lk + j0) * dh, dh,
        !first);
}

// dQ_i += dS K_j for the block.
template <typename T>
void accumulate_q(const BackwardArgs<T>& a, int64_t b, int64_t i0, int64_t nq, int64_t j0,
                  int64_t nk, const T* ds, bool first) {
  int64_t lq = a.d.lq, lk = a.d.lk, dh = a.d.dh, t = kBwdTile;
  mm<T>(nq, dh, nk, ds, t, 1, a.k + (b * lk + j0) * dh, dh, 1, a.gq + (b * lq + i0) * dh, dh,
        !first);
}

// Short sequences: the whole P and dS of a group of heads [b0, b1), each product one batched
// GEMM over the group (no per-head call overhead).
template <typename T>
void backward_short(const BackwardArgs<T>& a, int64_t b0, int64_t b1) {
  int64_t g = b1 - b0, lq = a.d.lq, lk = a.d.lk, dh = a.d.dh, n = lq * lk;
  std::vector<T> p(size_t(g * n)), ds(size_t(g * n));
  const T *q = a.q + b0 * lq * dh, *k = a.k + b0 * lk * dh, *v = a.v + b0 * lk * dh,
          *go = a.go + b0 * lq * dh;
  mm<T>(lq, lk, dh, q, dh, 1, k, 1, dh, p.data(), lk, false, g, lq * dh, lk * dh, n);    // S
  mm<T>(lq, lk, dh, go, dh, 1, v, 1, dh, ds.data(), lk, false, g, lq * dh, lk * dh, n);  // dP
  const T s = a.scale;
  for (int64_t r = 0; r < g * lq; ++r) {
    T* pr = p.data() + r * lk;
    T* dr = ds.data() + r * lk;
    T li = a.lse[b0 * lq + r], di = a.delta[b0 * lq + r];
#pragma omp simd
    for (int64_t j = 0; j < lk; ++j) {
      T pj = fast_exp<T>(pr[j] * s - li);
      pr[j] = pj;
      dr[j] = pj * (dr[j] - di) * s;
    }
  }
  // dV = P^T dO, dK = dS^T Q, dQ = dS K.
  mm<T>(lk, dh, lq, p.data(), 1, lk, go, dh, 1, a.gv + b0 * lk * dh, dh, false, g, n, lq * dh,
        lk * dh);
  mm<T>(lk, dh, lq, ds.data(), 1, lk, q, dh, 1, a.gk + b0 * lk * dh, dh, false, g, n, lq * dh,
        lk * dh);
  mm<T>(lq, dh, lk, ds.data(), lk, 1, k, dh, 1, a.gq + b0 * lq * dh, dh, false, g, n, lk * dh,
        lq * dh);
}

// Many batch-heads: one task per head does every block once (5 GEMMs per block). Few heads
// (long spatial sequences): two passes, dK/dV over (head, key tile) and dQ over (head, query
// tile), so both cores stay busy at the price of recomputing S and dP (7 GEMMs per block). Either
// way each gradient row is summed by one thread in a fixed order: deterministic.
constexpr int64_t kFewHeads = 8;

template <typename T>
void backward_typed(const BackwardArgs<T>& a) {
  const Dims4<T>& d = a.d;
  const int64_t t = kBwdTile, qt = (d.lq + t - 1) / t, kt = (d.lk + t - 1) / t;
  auto blocks = [](int64_t n0, int64_t n1, auto&& fn) {
    std::vector<T> p(size_t(kBwdTile * kBwdTile)), ds(size_t(kBwdTile * kBwdTile));
    for (int64_t n = n0; n < n1; ++n) fn(n, p.data(), ds.data());
  };
  if (d.lq * d.lk <= kShortScores) {
    int64_t per_head = std::max<int64_t>(1, d.lq * d.lk * d.dh * 10);
    int64_t grain =
        std::clamp<int64_t>((int64_t(1) << 18) / per_head, 1, kShortScores / (d.lq * d.lk));
    parallel_for(d.bh, grain, [&](int64_t b0, int64_t b1) { backward_short(a, b0, b1); });
    return;
  }
  if (d.bh >= kFewHeads) {
    int64_t per_head = std::max<int64_t>(1, d.lq * d.lk * d.dh * 5);
    int64_t grain = std::max<int64_t>(1, (int64_t(1) << 18) / per_head);
    parallel_for(d.bh, grain, [&](int64_t b0, int64_t b1) {
      blocks(b0, b1, [&](int64_t b, T* p, T* ds) {
        for (int64_t j0 = 0; j0 < d.lk; j0 += t) {
          int64_t nk = std::min(t, d.lk - j0);
          for (int64_t i0 = 0; i0 < d.lq; i0 += t) {
            int64_t nq = std::min(t, d.lq - i0);
            recompute_tile(a, b, i0, nq, j0, nk, p, ds);
            accumulate_kv(a, b, i0, nq, j0, nk, p, ds, i0 == 0);
            accumulate_q(a, b, i0, nq, j0, nk, ds, j0 == 0);
          }
        }
      });
    });
    return;
  }
  parallel_for(d.bh * kt, 1, [&](int64_t n0, int64_t n1) {
    blocks(n0, n1, [&](int64_t n, T* p, T* ds) {
      int64_t b = n / kt, j0 = (n % kt) * t, nk = std::min(t, d.lk - j0);
      for (int64_t i0 = 0; i0 < d.lq; i0 += t) {
        int64_t nq = std::min(t, d.lq - i0);
        recompute_tile(a, b, i0, nq, j0, nk, p, ds);
        accumulate_kv(a, b, i0, nq, j0, nk, p, ds, i0 == 0);
      }
    });
  });
  parallel_for(d.bh * qt, 1, [&](int64_t n0, int64_t n1) {
    blocks(n0, n1, [&](int64_t n, T* p, T* ds) {
      int64_t b = n / qt, i0 = (n % qt) * t, nq = std::min(t, d.lq - i0);
      for (int64_t j0 = 0; j0 < d.lk; j0 += t) {
        int64_t nk = std::min(t, d.lk - j0);
        recompute_tile(a, b, i0, nq, j0, nk, p, ds);
        accumulate_q(a, b, i0, nq, j0, nk, ds, j0 == 0);
      }
    });
  });
}

// delta[row] = rowsum(dO * O), the softmax-backward term shared by every key tile.
template <typename T>
std::vector<T> row_deltas(const T* go, const T* o, int64_t rows, int64_t dh) {
  std::vector<T> delta(static_cast<size_t>(rows));
  parallel_for(rows, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(dh, 1)),
               [&](int64_t r0, int64_t r1) {
                 for (int64_t r = r0; r < r1; ++r) {
                   // Row pointers: indexing by r * dh let GCC vectorise over rows with gathers.
                   const T* g = go + r * dh;
                   const T* y = o + r * dh;
                   T acc = 0;
#pragma omp simd reduction(+ : acc)
                   for (int64_t c = 0; c < dh; ++c) acc += g[c] * y[c];
                   delta[size_t(r)] = acc;
                 }
               });
  return delta;
}

// Compute dtype of the kernels: f64 stays f64, everything else runs in f32.
DType compute_dtype(DType t) { return t == DType::f64 ? DType::f64 : DType::f32; }

// 16-bit inputs: converted f32 copies (the kernels read each element many times anyway).
Tensor as_compute(const Tensor& t) { return ops::to(t, compute_dtype(t.dtype())); }

template <typename T>
const T* cptr(const Tensor& t) {
  return static_cast<const T*>(t.data_ptr());
}
template <typename T>
T* mptr(const Tensor& t) {
  return static_cast<T*>(t.data_ptr());
}

}  // namespace

void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, double scale,
                       const Tensor& out, const Tensor& lse) {
  DType ct = compute_dtype(q.dtype());
  bool convert = ct != q.dtype();
  Tensor qc = as_compute(q), kc = as_compute(k), vc = as_compute(v);
  Tensor oc = convert ? empty(out.shape(), TensorOptions(ct)) : out;
  dispatch_floating(ct, "attention_forward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      Dims4<T> d{q.size(0) * q.size(1), q.size(2), k.size(2), q.size(3)};
      forward_typed<T>(cptr<T>(qc), cptr<T>(kc), cptr<T>(vc), mptr<T>(oc), mptr<T>(lse), d,
                       T(scale));
    }
  });
  if (convert) copy(oc, out);
}

void attention_backward(const Tensor& grad_out, const Tensor& q, const Tensor& k, const Tensor& v,
                        const Tensor& out, const Tensor& lse, double scale, const Tensor& grad_q,
                        const Tensor& grad_k, const Tensor& grad_v) {
  DType ct = compute_dtype(q.dtype());
  bool convert = ct != q.dtype();
  Tensor gc = as_compute(grad_out), qc = as_compute(q), kc = as_compute(k), vc = as_compute(v),
         oc = as_compute(out);
  auto result = [&](const Tensor& t) { return convert ? empty(t.shape(), TensorOptions(ct)) : t; };
  Tensor gq = result(grad_q), gk = result(grad_k), gv = result(grad_v);
  dispatch_floating(ct, "attention_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      Dims4<T> d{q.size(0) * q.size(1), q.size(2), k.size(2), q.size(3)};
      std::vector<T> delta = row_deltas<T>(cptr<T>(gc), cptr<T>(oc), d.bh * d.lq, d.dh);
      backward_typed<T>(BackwardArgs<T>{cptr<T>(gc), cptr<T>(qc), cptr<T>(kc), cptr<T>(vc),
                                        cptr<T>(lse), delta.data(), mptr<T>(gq), mptr<T>(gk),
                                        mptr<T>(gv), d, T(scale)});
    }
  });
  if (convert) copy(gq, grad_q), copy(gk, grad_k), copy(gv, grad_v);
}

}  // namespace trip::cpu
