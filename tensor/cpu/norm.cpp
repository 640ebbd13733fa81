// CPU GroupNorm (+ fused SiLU), LayerNorm and AdaLN, forward and backward (tensor/backend.h).
// Statistics: one pass per (sample, group) / row with sums shifted by the first element and
// accumulated in double, so a large mean (1e4 + N(0,1)) does not cancel the variance away.
// Work is split into tasks fixed by the problem size (parallel.h); every task computes its own
// results sequentially and cross-task sums (dweight, dbias, dscale, dshift) are combined in task
// order afterwards, so results do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "tensor/convert.h"
#include "tensor/cpu/kernels.h"
#include "tensor/cpu/parallel.h"
#include "tensor/cpu/vec_math.h"

namespace trip::cpu {

namespace {

template <typename T>
using compute_t = typename dtype_traits<dtype_of<T>()>::compute;

// f32 uses the vectorisable exp of vec_math.h; f64 keeps libm accuracy (gradcheck runs there).
#pragma omp declare simd
inline float sigmoid_of(float z) { return 1.0f / (1.0f + exp_approx(-z)); }
inline double sigmoid_of(double z) { return 1.0 / (1.0 + std::exp(-z)); }

template <typename T>
const T* ptr(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.data_ptr()) : nullptr;
}
template <typename T>
T* mut(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.data_ptr()) : nullptr;
}

struct Stats {
  double mean, rstd;
};

// Mean and 1/sqrt(biased var + eps) of n values, one pass: sums of (x - x[0]) in double.
template <typename T>
Stats stats_of(const T* x, int64_t n, double eps) {
  using C = compute_t<T>;
  const double shift = double(convert<C>(x[0]));
  double s = 0, ss = 0;
#pragma omp simd reduction(+ : s, ss)
  for (int64_t i = 0; i < n; ++i) {
    double d = double(convert<C>(x[i])) - shift;
    s += d;
    ss += d * d;
  }
  double m = s / double(n);
  double var = std::max(ss / double(n) - m * m, 0.0);
  return {shift + m, 1.0 / std::sqrt(var + eps)};
}

// The mean as hi + lo in the compute type: (x - hi) is exact for x near the mean (Sterbenz), so
// with a large mean (1e4 + N(0,1)) the normalised value keeps f32 accuracy where folding the
// mean into one float offset (x * a + b) would lose ~1e-3 to cancellation.
template <typename C>
std::pair<C, C> split_mean(double mean) {
  const C hi = C(mean);
  return {hi, C(mean - double(hi))};
}

// Tasks of about this many elements keep a thread busy long enough to pay for its start-up.
int64_t grain_for(int64_t elements_per_task) {
  return std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(elements_per_task, 1));
}

template <typename T>
void group_norm_forward_t(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t groups,
                          double eps, bool silu, const Tensor& out, const Tensor& mean,
                          const Tensor& rstd) {
  using C = compute_t<T>;
  using S = compute_t<T>;  // mean/rstd storage: f32, or f64 for f64 inputs
  const int64_t N = x.shape()[0], Ch = x.shape()[1], cg = Ch / groups;
  const int64_t hw = x.numel() / (N * Ch), len = cg * hw;
  const T* px = ptr<T>(x);
  const T *pw = ptr<T>(weight), *pb = ptr<T>(bias);
  T* py = mut<T>(out);
  S *pm = mut<S>(mean), *pr = mut<S>(rstd);
  parallel_for(N * groups, grain_for(len), [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t g = task % groups;
      const T* xg = px + task * len;
      T* yg = py + task * len;
      Stats st = stats_of(xg, len, eps);
      pm[task] = S(st.mean);
      pr[task] = S(st.rstd);
      const auto [m_hi, m_lo] = split_mean<C>(st.mean);
      const C r = C(st.rstd);
      for (int64_t k = 0; k < cg; ++k) {
        const int64_t c = g * cg + k;
        // y = (x - mean) * rstd * w + b with the mean split in two (split_mean).
        const C w = pw ? convert<C>(pw[c]) : C(1), b = pb ? convert<C>(pb[c]) : C(0);
        const C a = r * w;
        const T* xc = xg + k * hw;
        T* yc = yg + k * hw;
        if (silu) {
#pragma omp simd
          for (int64_t i = 0; i < hw; ++i) {
            C z = ((convert<C>(xc[i]) - m_hi) - m_lo) * a + b;
            yc[i] = convert<T>(z * sigmoid_of(z));
          }
        } else {
#pragma omp simd
          for (int64_t i = 0; i < hw; ++i) {
            yc[i] = convert<T>(((convert<C>(xc[i]) - m_hi) - m_lo) * a + b);
          }
        }
      }
    }
  });
}

// A per-feature parameter in the compute type, or `fill` where it is undefined, so inner loops
// need no branch on its presence.
template <typename T, typename C = compute_t<T>>
std::vector<C> params_or(const T* p, int64_t n, C fill) {
  std::vector<C> v(size_t(n), fill);
  if (p) {
    for (int64_t i = 0; i < n; ++i) v[size_t(i)] = convert<C>(p[i]);
  }
  return v;
}

// Short runs summed in the compute type keep f32 sums accurate (error ~ sqrt(run) ulp) at full
// vector width; the runs are then added in double.
inline constexpr int64_t kSumBlock = 512;

// dz: the gradient before the affine, i.e. dy times SiLU'(z) with z recomputed as in the
// forward. Branch-free so the loops around it vectorise.
template <bool Silu, typename C>
inline C dz_of(C x, C dy, C m, C a, C b) {
  if constexpr (!Silu) {
    return dy;
  } else {
    C z = (x - m) * a + b;
    C s = sigmoid_of(z);
    return dy * s * (C(1) + z * (C(1) - s));
  }
}

// One (sample, group) of the GroupNorm backward: per-channel sums of dz and dz * xhat, then
// dx = rstd * (dz*w - mean(dz*w) - xhat * mean(dz*w*xhat)) over the group.
template <bool Silu, bool Cache, typename T, typename C>
void group_backward_task(const T* xg, const T* dyg, const C* w, const C* b, C m, C r, int64_t cg,
                         int64_t hw, double* sums_dz, double* sums_dzx, T* dxg, C* dz_buf) {
  double m1 = 0, m2 = 0;  // sums over the group of dz*w and dz*w*xhat
  for (int64_t k = 0; k < cg; ++k) {
    const C a = r * w[k], bk = b[k];
    const T *xc = xg + k * hw, *dyc = dyg + k * hw;
    // Blocks of kSumBlock summed in the compute type (full vector width), blocks in double.
    double s_dz = 0, s_dzx = 0;
    for (int64_t i0 = 0; i0 < hw; i0 += kSumBlock) {
      const int64_t i1 = std::min(hw, i0 + kSumBlock);
      C b_dz = 0, b_dzx = 0;
#pragma omp simd reduction(+ : b_dz, b_dzx)
      for (int64_t i = i0; i < i1; ++i) {
        const C xi = convert<C>(xc[i]);
        const C dz = dz_of<Silu>(xi, convert<C>(dyc[i]), m, a, bk);
        if constexpr (Silu && Cache) dz_buf[k * hw + i] = dz;  // for the dx pass: one exp each
        b_dz += dz;
        b_dzx += dz * ((xi - m) * r);
      }
      s_dz += double(b_dz);
      s_dzx += double(b_dzx);
    }
    sums_dz[k] = s_dz;
    sums_dzx[k] = s_dzx;
    m1 += double(w[k]) * s_dz;
    m2 += double(w[k]) * s_dzx;
  }
  if (!dxg) return;
  const double len = double(cg * hw);
  const C c1 = C(m1 / len), c2 = C(m2 / len);
  for (int64_t k = 0; k < cg; ++k) {
    const C a = r * w[k], bk = b[k], wk = w[k];
    const T *xc = xg + k * hw, *dyc = dyg + k * hw;
    T* dxc = dxg + k * hw;
#pragma omp simd
    for (int64_t i = 0; i < hw; ++i) {
      const C xi = convert<C>(xc[i]);
      const C dz =
          (Silu && Cache) ? dz_buf[k * hw + i] : dz_of<Silu>(xi, convert<C>(dyc[i]), m, a, bk);
      dxc[i] = convert<T>(r * (dz * wk - c1 - (xi - m) * r * c2));
    }
  }
}

template <typename T>
void group_norm_backward_t(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                           const Tensor& bias, const Tensor& mean, const Tensor& rstd,
                           int64_t groups, bool silu, const Tensor& grad_x,
                           const Tensor& grad_weight, const Tensor& grad_bias) {
  using C = compute_t<T>;
  using S = compute_t<T>;
  const int64_t N = x.shape()[0], Ch = x.shape()[1], cg = Ch / groups;
  const int64_t hw = x.numel() / (N * Ch), len = cg * hw;
  const T *px = ptr<T>(x), *pdy = ptr<T>(grad_out);
  const T *pw = ptr<T>(weight), *pb = ptr<T>(bias);
  const S *pm = ptr<S>(mean), *pr = ptr<S>(rstd);
  T* pdx = mut<T>(grad_x);
  // Per (n, c): sum of dz and of dz * xhat, dz the gradient before the affine (after the SiLU
  // derivative). dweight/dbias are their sums over n, taken in order below.
  std::vector<double> sum_dz(size_t(N * Ch)), sum_dz_xhat(size_t(N * Ch));
  const std::vector<C> wv = params_or(pw, Ch, C(1)), bv = params_or(pb, Ch, C(0));
  // With the SiLU, dz of a group is kept for the dx pass (saves an exp per element) unless the
  // group is too large for a per-thread buffer.
  const bool cache = silu && len <= (int64_t(1) << 20);
  parallel_for(N * groups, grain_for(len), [&](int64_t begin, int64_t end) {
    std::vector<C> dz_buf(cache ? size_t(len) : 0);  // the SiLU-scaled dy of one group
    for (int64_t task = begin; task < end; ++task) {
      const int64_t n = task / groups, g = task % groups;
      const T *xg = px + task * len, *dyg = pdy + task * len;
      const C m = C(pm[task]), r = C(pr[task]);
      double* sums_dz = &sum_dz[size_t(n * Ch + g * cg)];
      double* sums_dzx = &sum_dz_xhat[size_t(n * Ch + g * cg)];
      T* dxg = pdx ? pdx + task * len : nullptr;
      const C* wg = wv.data() + g * cg;
      const C* bg = bv.data() + g * cg;
      if (cache) {
        group_backward_task<true, true>(xg, dyg, wg, bg, m, r, cg, hw, sums_dz, sums_dzx, dxg,
                                        dz_buf.data());
      } else if (silu) {
        group_backward_task<true, false>(xg, dyg, wg, bg, m, r, cg, hw, sums_dz, sums_dzx, dxg,
                                         dz_buf.data());
      } else {
        group_backward_task<false, false>(xg, dyg, wg, bg, m, r, cg, hw, sums_dz, sums_dzx, dxg,
                                          dz_buf.data());
      }
    }
  });
  T *pgw = mut<T>(grad_weight), *pgb = mut<T>(grad_bias);
  for (int64_t c = 0; c < Ch; ++c) {
    double gw = 0, gb = 0;
    for (int64_t n = 0; n < N; ++n) {
      gw += sum_dz_xhat[size_t(n * Ch + c)];
      gb += sum_dz[size_t(n * Ch + c)];
    }
    if (pgw) pgw[c] = convert<T>(C(gw));
    if (pgb) pgb[c] = convert<T>(C(gb));
  }
}

// LayerNorm geometry: x [B, L, D]; mean/rstd [B, L].
struct RowGeometry {
  int64_t B, L, D;
};
RowGeometry rows_of(const Tensor& x, const Tensor& mean) {
  return {mean.shape()[0], mean.shape()[1], x.shape()[x.dim() - 1]};
}

template <typename T>
void layer_norm_forward_t(const Tensor& x, const Tensor& weight, const Tensor& bias,
                          const Tensor& scale, const Tensor& shift, double eps, const Tensor& out,
                          const Tensor& mean, const Tensor& rstd) {
  using C = compute_t<T>;
  using S = compute_t<T>;
  const auto [B, L, D] = rows_of(x, mean);
  const T *px = ptr<T>(x), *pw = ptr<T>(weight), *pb = ptr<T>(bias);
  const T *psc = ptr<T>(scale), *psh = ptr<T>(shift);
  T* py = mut<T>(out);
  S *pm = mut<S>(mean), *pr = mut<S>(rstd);
  parallel_for(B * L, grain_for(D), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / L;
      const T* xr = px + row * D;
      T* yr = py + row * D;
      Stats st = stats_of(xr, D, eps);
      pm[row] = S(st.mean);
      pr[row] = S(st.rstd);
      const auto [m_hi, m_lo] = split_mean<C>(st.mean);
      const C r = C(st.rstd);
#pragma omp simd
      for (int64_t d = 0; d < D; ++d) {
        C y = ((convert<C>(xr[d]) - m_hi) - m_lo) * r;
        if (pw) y *= convert<C>(pw[d]);
        if (pb) y += convert<C>(pb[d]);
        if (psc) y *= C(1) + convert<C>(psc[b * D + d]);
        if (psh) y += convert<C>(psh[b * D + d]);
        yr[d] = convert<T>(y);
      }
    }
  });
}

// Partial sums of one task's rows (all [D]): dw += g0*xhat, db += g0 and, for AdaLN,
// dscale += dy * (xhat*w + b), dshift += dy, with g0 = dy * (1 + scale) the gradient before
// AdaLN's modulation. Also dx per row when wanted. Branch-free loops so they vectorise.
template <bool Ada, typename T, typename C, typename S>
void layer_backward_rows(const T* x, const T* dy, const S* mean, const S* rstd, const C* w,
                         const C* b, const C* scale1, int64_t rows, int64_t D, double* aw,
                         double* ab, double* asc, double* ash, T* dx) {
  for (int64_t row = 0; row < rows; ++row) {
    const T *xr = x + row * D, *dyr = dy + row * D;
    const C m = C(mean[row]), r = C(rstd[row]);
    double s1 = 0, s2 = 0;
#pragma omp simd reduction(+ : s1, s2)
    for (int64_t d = 0; d < D; ++d) {
      const C xhat = (convert<C>(xr[d]) - m) * r;
      const C g0 = Ada ? convert<C>(dyr[d]) * scale1[d] : convert<C>(dyr[d]);
      aw[d] += double(g0 * xhat);
      ab[d] += double(g0);
      s1 += double(g0 * w[d]);
      s2 += double(g0 * w[d] * xhat);
    }
    if constexpr (Ada) {
#pragma omp simd
      for (int64_t d = 0; d < D; ++d) {
        const C xhat = (convert<C>(xr[d]) - m) * r, g = convert<C>(dyr[d]);
        asc[d] += double(g * (xhat * w[d] + b[d]));
        ash[d] += double(g);
      }
    }
    if (!dx) continue;
    const C c1 = C(s1 / double(D)), c2 = C(s2 / double(D));
    T* dxr = dx + row * D;
#pragma omp simd
    for (int64_t d = 0; d < D; ++d) {
      const C xhat = (convert<C>(xr[d]) - m) * r;
      const C g0 = Ada ? convert<C>(dyr[d]) * scale1[d] : convert<C>(dyr[d]);
      dxr[d] = convert<T>(r * (g0 * w[d] - c1 - xhat * c2));
    }
  }
}

template <typename T>
void layer_norm_backward_t(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                           const Tensor& bias, const Tensor& scale, const Tensor& mean,
                           const Tensor& rstd, const Tensor& grad_x, const Tensor& grad_weight,
                           const Tensor& grad_bias, const Tensor& grad_scale,
                           const Tensor& grad_shift) {
  using C = compute_t<T>;
  using S = compute_t<T>;
  const auto [B, L, D] = rows_of(x, mean);
  const bool ada = scale.defined();
  const std::vector<C> wv = params_or(ptr<T>(weight), D, C(1)),
                       bv = params_or(ptr<T>(bias), D, C(0));
  std::vector<C> scale1 = ada ? params_or(ptr<T>(scale), B * D, C(0)) : std::vector<C>{};
  for (C& v : scale1) v += C(1);
  // Tasks are (b, chunk of L); the number of chunks depends only on B and L. Each task writes
  // its own partial sums over its rows, reduced in task order below.
  const int64_t chunks = std::clamp<int64_t>((64 + B - 1) / B, 1, std::max<int64_t>(L, 1));
  const int64_t rows_per_chunk = (L + chunks - 1) / chunks, tasks = B * chunks;
  std::vector<double> p_w(size_t(tasks * D)), p_b(size_t(tasks * D));
  std::vector<double> p_sc(ada ? size_t(tasks * D) : 0), p_sh(ada ? size_t(tasks * D) : 0);
  parallel_for(tasks, grain_for(rows_per_chunk * D), [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / chunks, l0 = (task % chunks) * rows_per_chunk;
      const int64_t rows = std::max<int64_t>(std::min(L, l0 + rows_per_chunk) - l0, 0);
      const int64_t first = (b * L + l0), o = task * D;
      const T *xr = ptr<T>(x) + first * D, *dyr = ptr<T>(grad_out) + first * D;
      const S *m = ptr<S>(mean) + first, *r = ptr<S>(rstd) + first;
      T* dx = grad_x.defined() ? mut<T>(grad_x) + first * D : nullptr;
      if (ada) {
        layer_backward_rows<true>(xr, dyr, m, r, wv.data(), bv.data(), &scale1[size_t(b * D)], rows,
                                  D, &p_w[o], &p_b[o], &p_sc[o], &p_sh[o], dx);
      } else {
        layer_backward_rows<false>(xr, dyr, m, r, wv.data(), bv.data(), (const C*)nullptr, rows, D,
                                   &p_w[o], &p_b[o], (double*)nullptr, (double*)nullptr, dx);
      }
    }
  });
  // Fixed-order reductions of the partials: over every task for weight/bias, over the chunks of
  // one sample for scale/shift.
  auto reduce = [&](const std::vector<double>& p, const Tensor& dst, bool per_sample) {
    if (!dst.defined()) return;
    T* o = mut<T>(dst);
    for (int64_t b = 0; b < (per_sample ? B : 1); ++b) {
      const int64_t t0 = per_sample ? b * chunks : 0, t1 = per_sample ? t0 + chunks : tasks;
      for (int64_t d = 0; d < D; ++d) {
        double s = 0;
        for (int64_t t = t0; t < t1; ++t) s += p[size_t(t * D + d)];
        o[b * D + d] = convert<T>(C(s));
      }
    }
  };
  reduce(p_w, grad_weight, false);
  reduce(p_b, grad_bias, false);
  reduce(p_sc, grad_scale, true);
  reduce(p_sh, grad_shift, true);
}

}  // namespace

void group_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t groups,
                        double eps, bool silu, const Tensor& out, const Tensor& mean,
                        const Tensor& rstd) {
  if (x.numel() == 0) return;
  dispatch_floating(x.dtype(), "group_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    group_norm_forward_t<T>(x, weight, bias, groups, eps, silu, out, mean, rstd);
  });
}

void group_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                         const Tensor& bias, const Tensor& mean, const Tensor& rstd, int64_t groups,
                         bool silu, const Tensor& grad_x, const Tensor& grad_weight,
                         const Tensor& grad_bias) {
  if (x.numel() == 0) return;
  dispatch_floating(x.dtype(), "group_norm_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    group_norm_backward_t<T>(grad_out, x, weight, bias, mean, rstd, groups, silu, grad_x,
                             grad_weight, grad_bias);
  });
}

void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const Tensor& scale, const Tensor& shift, double eps, const Tensor& out,
                        const Tensor& mean, const Tensor& rstd) {
  if (x.numel() == 0) return;
  dispatch_floating(x.dtype(), "layer_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    layer_norm_forward_t<T>(x, weight, bias, scale, shift, eps, out, mean, rstd);
  });
}

void layer_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                         const Tensor& bias, const Tensor& scale, const Tensor& /*shift*/,
                         const Tensor& mean, const Tensor& rstd, const Tensor& grad_x,
                         const Tensor& grad_weight, const Tensor& grad_bias,
                         const Tensor& grad_scale, const Tensor& grad_shift) {
  if (x.numel() == 0) return;
  dispatch_floating(x.dtype(), "layer_norm_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    layer_norm_backward_t<T>(grad_out, x, weight, bias, scale, mean, rstd, grad_x, grad_weight,
                             grad_bias, grad_scale, grad_shift);
  });
}

}  // namespace trip::cpu
