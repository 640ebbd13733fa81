#include "tensor/cuda/nvcc_fmt.h"

// defines: CUDA GroupNorm (+ fused SiLU), LayerNorm and AdaLN, forward and backward, with the
// same formulas as tensor/cpu/norm.cpp. One block per (sample, group) or row, statistics
// accumulated in double and shifted by the first element (stable for a large mean), block
// reductions over a fixed tree in shared memory; weight/bias/scale/shift gradients come from
// per-task partial sums reduced by a second kernel in task order. No atomics: deterministic.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "tensor/convert.h"
#include "tensor/cuda/kernels.h"
#include "tensor/cuda/launch.h"
#include "tensor/dtype.h"

namespace trip::gpu {
namespace {

template <typename T>
using compute_t = typename dtype_traits<dtype_of<T>()>::compute;

// Every thread passes its value and gets the block's sum; a fixed tree over kBlock threads.
__device__ double block_sum(double value, double* shared) {
  const int tid = threadIdx.x;
  shared[tid] = value;
  __syncthreads();
  for (int s = kBlock / 2; s > 0; s >>= 1) {
    if (tid < s) shared[tid] += shared[tid + s];
    __syncthreads();
  }
  double result = shared[0];
  __syncthreads();  // everyone has read shared[0] before the next call overwrites it
  return result;
}

template <typename C>
__device__ C sigmoid_of(C z) {
  return C(1) / (C(1) + std::exp(-z));
}

// Mean and rstd of n values, one pass of sums of (x - x[0]) in double, block-wide.
template <typename T>
__device__ void block_stats(const T* x, int64_t n, double eps, double* shared, double& mean,
                            double& rstd) {
  using C = compute_t<T>;
  const double shift = double(convert<C>(x[0]));
  double s = 0, ss = 0;
  for (int64_t i = threadIdx.x; i < n; i += kBlock) {
    double d = double(convert<C>(x[i])) - shift;
    s += d;
    ss += d * d;
  }
  s = block_sum(s, shared);
  ss = block_sum(ss, shared);
  double m = s / double(n);
  mean = shift + m;
  rstd = 1.0 / sqrt(fmax(ss / double(n) - m * m, 0.0) + eps);
}

// The mean as hi + lo so that (x - hi) - lo keeps the compute type's accuracy for a large mean.
template <typename C>
struct SplitMean {
  C hi, lo;
  __device__ explicit SplitMean(double m) : hi(C(m)), lo(C(m - double(C(m)))) {}
};

template <typename T, typename S>
__global__ void group_norm_forward_kernel(const T* x, const T* w, const T* b, T* y, S* mean,
                                          S* rstd, int64_t tasks, int64_t groups, int64_t cg,
                                          int64_t hw, double eps, bool silu) {
  using C = compute_t<T>;
  __shared__ double shared[kBlock];
  const int64_t len = cg * hw;
  for (int64_t task = blockIdx.x; task < tasks; task += gridDim.x) {
    const T* xg = x + task * len;
    double m, r;
    block_stats(xg, len, eps, shared, m, r);
    if (threadIdx.x == 0) {
      mean[task] = S(m);
      rstd[task] = S(r);
    }
    const SplitMean<C> sm(m);
    const int64_t c0 = (task % groups) * cg;
    for (int64_t i = threadIdx.x; i < len; i += kBlock) {
      const int64_t c = c0 + i / hw;
      C z = ((convert<C>(xg[i]) - sm.hi) - sm.lo) * C(r);
      if (w) z *= convert<C>(w[c]);
      if (b) z += convert<C>(b[c]);
      y[task * len + i] = convert<T>(silu ? z * sigmoid_of(z) : z);
    }
  }
}

// dz: the gradient before the affine, i.e. dy times SiLU'(z) with z recomputed from x.
template <typename T, typename C>
__device__ C group_dz(const T* x, const T* dy, int64_t i, C m, C r, C w, C b, bool silu) {
  C g = convert<C>(dy[i]);
  if (!silu) return g;
  C z = (convert<C>(x[i]) - m) * r * w + b;
  C s = sigmoid_of(z);
  return g * s * (C(1) + z * (C(1) - s));
}

// Per (n, group): per-channel sums of dz and dz * xhat into sum_dz/sum_dzx [N, C], then dx.
template <typename T, typename S>
__global__ void group_norm_backward_kernel(const T* dy, const T* x, const T* w, const T* b,
                                           const S* mean, const S* rstd, T* dx, double* sum_dz,
                                           double* sum_dzx, int64_t tasks, int64_t groups,
                                           int64_t cg, int64_t hw, bool silu) {
  using C = compute_t<T>;
  __shared__ double shared[kBlock];
  const int64_t len = cg * hw;
  for (int64_t task = blockIdx.x; task < tasks; task += gridDim.x) {
    const int64_t n = task / groups, c0 = (task % groups) * cg, channels = groups * cg;
    const T *xg = x + task * len, *dyg = dy + task * len;
    const C m = C(mean[task]), r = C(rstd[task]);
    double m1 = 0, m2 = 0;  // over the group: sums of dz*w and dz*w*xhat
    for (int64_t k = 0; k < cg; ++k) {
      const int64_t c = c0 + k;
      const C wc = w ? convert<C>(w[c]) : C(1), bc = b ? convert<C>(b[c]) : C(0);
      const T *xc = xg + k * hw, *dyc = dyg + k * hw;
      double s_dz = 0, s_dzx = 0;
      for (int64_t i = threadIdx.x; i < hw; i += kBlock) {
        C dz = group_dz(xc, dyc, i, m, r, wc, bc, silu);
        s_dz += double(dz);
        s_dzx += double(dz * ((convert<C>(xc[i]) - m) * r));
      }
      s_dz = block_sum(s_dz, shared);
      s_dzx = block_sum(s_dzx, shared);
      if (threadIdx.x == 0) {
        sum_dz[n * channels + c] = s_dz;
        sum_dzx[n * channels + c] = s_dzx;
      }
      m1 += double(wc) * s_dz;
      m2 += double(wc) * s_dzx;
    }
    if (!dx) continue;
    const C c1 = C(m1 / double(len)), c2 = C(m2 / double(len));
    for (int64_t i = threadIdx.x; i < len; i += kBlock) {
      const int64_t c = c0 + i / hw;
      const C wc = w ? convert<C>(w[c]) : C(1), bc = b ? convert<C>(b[c]) : C(0);
      const C xhat = (convert<C>(xg[i]) - m) * r;
      const C dz = group_dz(xg, dyg, i, m, r, wc, bc, silu);
      dx[task * len + i] = convert<T>(r * (dz * wc - c1 - xhat * c2));
    }
  }
}

// out[c] = sum over `count` partial rows of p[t * cols + c], in order (one thread per column).
// With `per_row` > 0 the rows are split in runs of `per_row` giving one output row each.
template <typename T>
__global__ void ordered_sum_kernel(const double* p, T* out, int64_t rows, int64_t cols,
                                   int64_t per_row) {
  using C = compute_t<T>;
  const int64_t outs = (rows / per_row) * cols;
  for (int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; o < outs;
       o += int64_t(blockDim.x) * gridDim.x) {
    const int64_t run = o / cols, c = o % cols;
    double s = 0;
    for (int64_t t = run * per_row; t < (run + 1) * per_row; ++t) s += p[t * cols + c];
    out[o] = convert<T>(C(s));
  }
}

template <typename T, typename S>
__global__ void layer_norm_forward_kernel(const T* x, const T* w, const T* b, const T* scale,
                                          const T* shift, T* y, S* mean, S* rstd, int64_t rows,
                                          int64_t L, int64_t D, double eps) {
  using C = compute_t<T>;
  __shared__ double shared[kBlock];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* xr = x + row * D;
    double m, r;
    block_stats(xr, D, eps, shared, m, r);
    if (threadIdx.x == 0) {
      mean[row] = S(m);
      rstd[row] = S(r);
    }
    const SplitMean<C> sm(m);
    const int64_t bD = (row / L) * D;
    for (int64_t d = threadIdx.x; d < D; d += kBlock) {
      C v = ((convert<C>(xr[d]) - sm.hi) - sm.lo) * C(r);
      if (w) v *= convert<C>(w[d]);
      if (b) v += convert<C>(b[d]);
      if (scale) v = v * (C(1) + convert<C>(scale[bD + d])) + convert<C>(shift[bD + d]);
      y[row * D + d] = convert<T>(v);
    }
  }
}

// g0: the gradient at norm(x) * w + b, before AdaLN's (1 + scale).
template <typename T, typename C>
__device__ C row_g0(const T* dy, const T* scale, int64_t i, int64_t bd) {
  C g = convert<C>(dy[i]);
  return scale ? g * (C(1) + convert<C>(scale[bd])) : g;
}

template <typename T, typename S>
__global__ void layer_norm_dx_kernel(const T* dy, const T* x, const T* w, const T* scale,
                                     const S* mean, const S* rstd, T* dx, int64_t rows, int64_t L,
                                     int64_t D) {
  using C = compute_t<T>;
  __shared__ double shared[kBlock];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const C m = C(mean[row]), r = C(rstd[row]);
    const int64_t bD = (row / L) * D;
    double s1 = 0, s2 = 0;
    for (int64_t d = threadIdx.x; d < D; d += kBlock) {
      const C xhat = (convert<C>(x[row * D + d]) - m) * r;
      const C gw = row_g0<T, C>(dy, scale, row * D + d, bD + d) * (w ? convert<C>(w[d]) : C(1));
      s1 += double(gw);
      s2 += double(gw * xhat);
    }
    s1 = block_sum(s1, shared);
    s2 = block_sum(s2, shared);
    const C c1 = C(s1 / double(D)), c2 = C(s2 / double(D));
    for (int64_t d = threadIdx.x; d < D; d += kBlock) {
      const C xhat = (convert<C>(x[row * D + d]) - m) * r;
      const C gw = row_g0<T, C>(dy, scale, row * D + d, bD + d) * (w ? convert<C>(w[d]) : C(1));
      dx[row * D + d] = convert<T>(r * (gw - c1 - xhat * c2));
    }
  }
}

// Partial sums over the rows of task (b, chunk) for every feature d; null outputs are skipped.
template <typename T, typename S>
__global__ void layer_norm_param_partials_kernel(const T* dy, const T* x, const T* w, const T* b,
                                                 const T* scale, const S* mean, const S* rstd,
                                                 double* pw, double* pb, double* psc, double* psh,
                                                 int64_t tasks, int64_t L, int64_t D,
                                                 int64_t chunks, int64_t rows_per_chunk) {
  using C = compute_t<T>;
  const int64_t d = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (d >= D) return;
  for (int64_t task = blockIdx.y; task < tasks; task += gridDim.y) {
    const int64_t bi = task / chunks, l0 = (task % chunks) * rows_per_chunk;
    const int64_t l1 = l0 + rows_per_chunk < L ? l0 + rows_per_chunk : L;
    const C wd = w ? convert<C>(w[d]) : C(1), bd = b ? convert<C>(b[d]) : C(0);
    double aw = 0, ab = 0, asc = 0, ash = 0;
    for (int64_t l = l0; l < l1; ++l) {
      const int64_t row = bi * L + l;
      const C xhat = (convert<C>(x[row * D + d]) - C(mean[row])) * C(rstd[row]);
      const C g = convert<C>(dy[row * D + d]);
      const C g0 = row_g0<T, C>(dy, scale, row * D + d, bi * D + d);
      aw += double(g0 * xhat);
      ab += double(g0);
      asc += double(g * (xhat * wd + bd));
      ash += double(g);
    }
    const int64_t o = task * D + d;
    if (pw) pw[o] = aw;
    if (pb) pb[o] = ab;
    if (psc) psc[o] = asc;
    if (psh) psh[o] = ash;
  }
}

template <typename T>
const T* cptr(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.data_ptr()) : nullptr;
}
template <typename T>
T* mptr(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.data_ptr()) : nullptr;
}

unsigned blocks_for(int64_t tasks) { return unsigned(std::clamp<int64_t>(tasks, 1, 65536)); }

// Scratch for partial sums, from the device's (caching) allocator.
Tensor scratch(bool want, int64_t rows, int64_t cols, const Tensor& like) {
  return want ? empty({rows, cols}, TensorOptions{DType::f64, like.device()}) : Tensor();
}

template <typename T>
void launch_ordered_sum(const Tensor& partial, const Tensor& out, int64_t rows, int64_t cols,
                        int64_t per_row) {
  if (!out.defined()) return;
  ordered_sum_kernel<T><<<grid_size((rows / per_row) * cols), kBlock>>>(
      cptr<double>(partial), mptr<T>(out), rows, cols, per_row);
  TRIP_CUDA_CHECK_LAUNCH();
}

}  // namespace

void group_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t groups,
                        double eps, bool silu, const Tensor& out, const Tensor& mean,
                        const Tensor& rstd) {
  if (x.numel() == 0) return;
  DeviceGuard guard(x);
  const int64_t N = x.shape()[0], C = x.shape()[1], hw = x.numel() / (N * C);
  dispatch_floating(x.dtype(), "group_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using S = compute_t<T>;
    group_norm_forward_kernel<T, S><<<blocks_for(N * groups), kBlock>>>(
        cptr<T>(x), cptr<T>(weight), cptr<T>(bias), mptr<T>(out), mptr<S>(mean), mptr<S>(rstd),
        N * groups, groups, C / groups, hw, eps, silu);
    TRIP_CUDA_CHECK_LAUNCH();
  });
}

void group_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                         const Tensor& bias, const Tensor& mean, const Tensor& rstd, int64_t groups,
                         bool silu, const Tensor& grad_x, const Tensor& grad_weight,
                         const Tensor& grad_bias) {
  if (x.numel() == 0) return;
  DeviceGuard guard(x);
  const int64_t N = x.shape()[0], C = x.shape()[1], hw = x.numel() / (N * C);
  Tensor sum_dz = scratch(true, N, C, x), sum_dzx = scratch(true, N, C, x);
  dispatch_floating(x.dtype(), "group_norm_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using S = compute_t<T>;
    group_norm_backward_kernel<T, S><<<blocks_for(N * groups), kBlock>>>(
        cptr<T>(grad_out), cptr<T>(x), cptr<T>(weight), cptr<T>(bias), cptr<S>(mean), cptr<S>(rstd),
        mptr<T>(grad_x), mptr<double>(sum_dz), mptr<double>(sum_dzx), N * groups, groups,
        C / groups, hw, silu);
    TRIP_CUDA_CHECK_LAUNCH();
    // dweight[c] = sum_n sum_dzx[n, c], dbias[c] = sum_n sum_dz[n, c]: one run of N rows.
    launch_ordered_sum<T>(sum_dzx, grad_weight, N, C, N);
    launch_ordered_sum<T>(sum_dz, grad_bias, N, C, N);
  });
}

void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const Tensor& scale, const Tensor& shift, double eps, const Tensor& out,
                        const Tensor& mean, const Tensor& rstd) {
  if (x.numel() == 0) return;
  DeviceGuard guard(x);
  const int64_t B = mean.shape()[0], L = mean.shape()[1], D = x.shape()[x.dim() - 1];
  dispatch_floating(x.dtype(), "layer_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using S = compute_t<T>;
    layer_norm_forward_kernel<T, S><<<blocks_for(B * L), kBlock>>>(
        cptr<T>(x), cptr<T>(weight), cptr<T>(bias), cptr<T>(scale), cptr<T>(shift), mptr<T>(out),
        mptr<S>(mean), mptr<S>(rstd), B * L, L, D, eps);
    TRIP_CUDA_CHECK_LAUNCH();
  });
}

void layer_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                         const Tensor& bias, const Tensor& scale, const Tensor& /*shift*/,
                         const Tensor& mean, const Tensor& rstd, const Tensor& grad_x,
                         const Tensor& grad_weight, const Tensor& grad_bias,
                         const Tensor& grad_scale, const Tensor& grad_shift) {
  if (x.numel() == 0) return;
  DeviceGuard guard(x);
  const int64_t B = mean.shape()[0], L = mean.shape()[1], D = x.shape()[x.dim() - 1];
  // Tasks (b, chunk of L), enough of them to fill the GPU; the count depends only on B and L.
  const int64_t chunks = std::clamp<int64_t>((1024 + B - 1) / B, 1, std::max<int64_t>(L, 1));
  const int64_t rows_per_chunk = (L + chunks - 1) / chunks, tasks = B * chunks;
  Tensor pw = scratch(grad_weight.defined(), tasks, D, x);
  Tensor pb = scratch(grad_bias.defined(), tasks, D, x);
  Tensor psc = scratch(grad_scale.defined(), tasks, D, x);
  Tensor psh = scratch(grad_shift.defined(), tasks, D, x);
  dispatch_floating(x.dtype(), "layer_norm_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using S = compute_t<T>;
    if (grad_x.defined()) {
      layer_norm_dx_kernel<T, S><<<blocks_for(B * L), kBlock>>>(
          cptr<T>(grad_out), cptr<T>(x), cptr<T>(weight), cptr<T>(scale), cptr<S>(mean),
          cptr<S>(rstd), mptr<T>(grad_x), B * L, L, D);
      TRIP_CUDA_CHECK_LAUNCH();
    }
    if (pw.defined() || pb.defined() || psc.defined() || psh.defined()) {
      // gridDim.y is at most 65535: the kernel strides over the tasks beyond it.
      dim3 grid(unsigned((D + kBlock - 1) / kBlock), unsigned(std::min<int64_t>(tasks, 65535)));
      layer_norm_param_partials_kernel<T, S><<<grid, kBlock>>>(
          cptr<T>(grad_out), cptr<T>(x), cptr<T>(weight), cptr<T>(bias), cptr<T>(scale),
          cptr<S>(mean), cptr<S>(rstd), mptr<double>(pw), mptr<double>(pb), mptr<double>(psc),
          mptr<double>(psh), tasks, L, D, chunks, rows_per_chunk);
      TRIP_CUDA_CHECK_LAUNCH();
    }
    launch_ordered_sum<T>(pw, grad_weight, tasks, D, tasks);
    launch_ordered_sum<T>(pb, grad_bias, tasks, D, tasks);
    launch_ordered_sum<T>(psc, grad_scale, tasks, D, chunks);
    launch_ordered_sum<T>(psh, grad_shift, tasks, D, chunks);
  });
}

}  // namespace trip::gpu
