#include "tensor/cuda/nvcc_fmt.h"

// defines: scaled dot-product attention on CUDA, flash-attention style (Dao et al. 2022): the
// Lq x Lk score matrix is never stored. A first, deliberately simple version:
// - forward: one block per (batch-head, tile of kRows queries), one thread per query row; K/V
//   tiles of kKeys rows are staged in shared memory, a tile's scores live in registers and an
//   online softmax (running max m and sum l) rescales the accumulated output row.
// - backward recomputes P = exp(S * scale - lse) from the saved log-sum-exp, in two kernels with
//   no atomics (so it is deterministic): dQ per query tile (one thread per query row) and dK/dV
//   per key tile (one thread per key row), after delta = rowsum(dO * O).
// Rows kept in shared memory by one thread use a stride of Dh + 1 so the threads of a warp hit
// different banks; rows read by all threads at once (broadcasts) are unpadded.
// Head dims 32/64/128 get unrolled instantiations; any other Dh runs the same code with a run-time
// bound (D == 0). Storage f32/bf16/f16 compute in float, f64 in double.
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

constexpr int kRows = 64;       // forward: query rows (threads) per block
constexpr int kGradRows = 32;   // dQ: query rows (threads) per block (three row tiles in smem)
constexpr int kKeys = 32;       // keys per shared K/V tile; a tile's scores sit in registers
constexpr int kKeyRows = 32;    // dK/dV: key rows (threads) per block
constexpr int kQueryTile = 32;  // dK/dV: queries per shared tile

struct Shape {
  int64_t bh, lq, lk;
  int dh;
};

__device__ inline float dev_exp(float x) { return expf(x); }
__device__ inline double dev_exp(double x) { return exp(x); }
__device__ inline float dev_log(float x) { return logf(x); }
__device__ inline double dev_log(double x) { return log(x); }

template <int D>
__device__ inline int head_dim(int dh) {
  return D > 0 ? D : dh;
}

// Rows [r0, r0 + n) of a row-major [rows_total, dh] matrix into shared memory (row stride ld),
// times mul; rows past the end become zeros so padded lanes compute harmless values.
template <typename T, typename C>
__device__ void load_rows(const T* src, int64_t r0, int n, int64_t rows_total, int dh, C* dst,
                          int ld, C mul) {
  for (int idx = threadIdx.x; idx < n * dh; idx += blockDim.x) {
    int r = idx / dh, c = idx % dh;
    int64_t row = r0 + r;
    dst[r * ld + c] = row < rows_total ? convert<C>(src[row * dh + c]) * mul : C(0);
  }
}

// The block's rows of shared memory (stride ld) back to global rows, coalesced.
template <typename T, typename C>
__device__ void store_rows(const C* src, int ld, int64_t r0, int n, int64_t rows_total, int dh,
                           T* dst) {
  __syncthreads();  // every thread has finished its own row
  for (int idx = threadIdx.x; idx < n * dh; idx += blockDim.x) {
    int r = idx / dh, c = idx % dh;
    if (r0 + r < rows_total) dst[(r0 + r) * dh + c] = convert<T>(src[r * ld + c]);
  }
}

template <typename T, int D>
__global__ void __launch_bounds__(kRows)
    attention_forward_kernel(const T* q, const T* k, const T* v, T* out, compute_t<T>* lse, Shape s,
                             compute_t<T> scale) {
  using C = compute_t<T>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const int dh = head_dim<D>(s.dh), ld = dh + 1, r = threadIdx.x;
  C* qs = reinterpret_cast<C*>(smem_raw);  // [kRows][ld], q * scale
  C* acc = qs + kRows * ld;                // [kRows][ld], unnormalised output rows
  C* ks = acc + kRows * ld;                // [kKeys][dh]
  C* vs = ks + kKeys * dh;                 // [kKeys][dh]
  const int64_t b = blockIdx.x, i0 = int64_t(blockIdx.y) * kRows;
  const T* kb = k + b * s.lk * dh;
  const T* vb = v + b * s.lk * dh;
  load_rows(q + b * s.lq * dh, i0, kRows, s.lq, dh, qs, ld, scale);
  for (int c = 0; c < dh; ++c) acc[r * ld + c] = C(0);
  C m = C(-INFINITY), l = C(0);
  for (int64_t j0 = 0; j0 < s.lk; j0 += kKeys) {
    __syncthreads();  // q is loaded; the previous K/V tile is no longer read
    load_rows(kb, j0, kKeys, s.lk, dh, ks, dh, C(1));
    load_rows(vb, j0, kKeys, s.lk, dh, vs, dh, C(1));
    __syncthreads();
    const int nk = int(min(int64_t(kKeys), s.lk - j0));
    C sc[kKeys];
#pragma unroll
    for (int jj = 0; jj < kKeys; ++jj) sc[jj] = C(0);
#pragma unroll 4
    for (int c = 0; c < dh; ++c) {
      C qc = qs[r * ld + c];
#pragma unroll
      for (int jj = 0; jj < kKeys; ++jj) sc[jj] += qc * ks[jj * dh + c];
    }
    C mx = m;
#pragma unroll
    for (int jj = 0; jj < kKeys; ++jj) mx = jj < nk ? max(mx, sc[jj]) : mx;
    const C base = mx == C(-INFINITY) ? C(0) : mx;  // keeps exp finite for all -inf rows
    const C alpha = dev_exp(m - base);              // 0 on the first tile (m = -inf)
    C sum = C(0);
#pragma unroll
    for (int jj = 0; jj < kKeys; ++jj) {
      sc[jj] = jj < nk ? dev_exp(sc[jj] - base) : C(0);
      sum += sc[jj];
    }
    l = l * alpha + sum;
    m = mx;
#pragma unroll 4
    for (int c = 0; c < dh; ++c) {
      C a = acc[r * ld + c] * alpha;
#pragma unroll
      for (int jj = 0; jj < kKeys; ++jj) a += sc[jj] * vs[jj * dh + c];
      acc[r * ld + c] = a;
    }
  }
  const C inv = C(1) / l;
  for (int c = 0; c < dh; ++c) acc[r * ld + c] *= inv;
  if (i0 + r < s.lq) lse[b * s.lq + i0 + r] = m + dev_log(l);
  store_rows(acc, ld, i0, kRows, s.lq, dh, out + b * s.lq * dh);
}

// delta[row] = sum_c dO[row, c] * O[row, c]: the rowsum term of the softmax backward.
template <typename T>
__global__ void attention_delta_kernel(const T* grad_out, const T* out, compute_t<T>* delta,
                                       int64_t rows, int dh) {
  using C = compute_t<T>;
  for (int64_t row = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; row < rows;
       row += int64_t(gridDim.x) * blockDim.x) {
    C acc = C(0);
    for (int c = 0; c < dh; ++c) {
      acc += convert<C>(grad_out[row * dh + c]) * convert<C>(out[row * dh + c]);
    }
    delta[row] = acc;
  }
}

// dQ_i = scale * sum_j P_ij (dP_ij - delta_i) k_j, dP_ij = dO_i . v_j: one thread per query row.
template <typename T, int D>
__global__ void __launch_bounds__(kGradRows)
    attention_grad_q_kernel(const T* grad_out, const T* q, const T* k, const T* v,
                            const compute_t<T>* lse, const compute_t<T>* delta, T* grad_q, Shape s,
                            compute_t<T> scale) {
  using C = compute_t<T>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const int dh = head_dim<D>(s.dh), ld = dh + 1, r = threadIdx.x;
  C* qs = reinterpret_cast<C*>(smem_raw);  // [kGradRows][ld], q * scale
  C* dos = qs + kGradRows * ld;            // [kGradRows][ld], dO
  C* dq = dos + kGradRows * ld;            // [kGradRows][ld]
  C* ks = dq + kGradRows * ld;             // [kKeys][dh]
  C* vs = ks + kKeys * dh;                 // [kKeys][dh]
  const int64_t b = blockIdx.x, i0 = int64_t(blockIdx.y) * kGradRows, i = i0 + r;
  const T* kb = k + b * s.lk * dh;
  const T* vb = v + b * s.lk * dh;
  load_rows(q + b * s.lq * dh, i0, kGradRows, s.lq, dh, qs, ld, scale);
  load_rows(grad_out + b * s.lq * dh, i0, kGradRows, s.lq, dh, dos, ld, C(1));
  for (int c = 0; c < dh; ++c) dq[r * ld + c] = C(0);
  const C li = i < s.lq ? lse[b * s.lq + i] : C(0);
  const C di = i < s.lq ? delta[b * s.lq + i] : C(0);
  for (int64_t j0 = 0; j0 < s.lk; j0 += kKeys) {
    __syncthreads();
    load_rows(kb, j0, kKeys, s.lk, dh, ks, dh, C(1));
    load_rows(vb, j0, kKeys, s.lk, dh, vs, dh, C(1));
    __syncthreads();
    const int nk = int(min(int64_t(kKeys), s.lk - j0));
    C sc[kKeys], dp[kKeys];
#pragma unroll
    for (int jj = 0; jj < kKeys; ++jj) sc[jj] = dp[jj] = C(0);
#pragma unroll 2
    for (int c = 0; c < dh; ++c) {
      C qc = qs[r * ld + c], gc = dos[r * ld + c];
#pragma unroll
      for (int jj = 0; jj < kKeys; ++jj) {
        sc[jj] += qc * ks[jj * dh + c];
        dp[jj] += gc * vs[jj * dh + c];
      }
    }
#pragma unroll
    for (int jj = 0; jj < kKeys; ++jj) {
      C p = jj < nk ? dev_exp(sc[jj] - li) : C(0);
      sc[jj] = p * (dp[jj] - di) * scale;  // dS with dQ's scale folded in
    }
#pragma unroll 4
    for (int c = 0; c < dh; ++c) {
      C a = dq[r * ld + c];
#pragma unroll
      for (int jj = 0; jj < kKeys; ++jj) a += sc[jj] * ks[jj * dh + c];
      dq[r * ld + c] = a;
    }
  }
  store_rows(dq, ld, i0, kGradRows, s.lq, dh, grad_q + b * s.lq * dh);
}

// dV_j = sum_i P_ij dO_i and dK_j = sum_i P_ij (dP_ij - delta_i) q_i * scale: one thread per key
// row, query tiles visited in order (no atomics: deterministic).
template <typename T, int D>
__global__ void __launch_bounds__(kKeyRows)
    attention_grad_kv_kernel(const T* grad_out, const T* q, const T* k, const T* v,
                             const compute_t<T>* lse, const compute_t<T>* delta, T* grad_k,
                             T* grad_v, Shape s, compute_t<T> scale) {
  using C = compute_t<T>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const int dh = head_dim<D>(s.dh), ld = dh + 1, r = threadIdx.x;
  C* ks = reinterpret_cast<C*>(smem_raw);  // [kKeyRows][ld]
  C* vs = ks + kKeyRows * ld;              // [kKeyRows][ld]
  C* dk = vs + kKeyRows * ld;              // [kKeyRows][ld]
  C* dv = dk + kKeyRows * ld;              // [kKeyRows][ld]
  C* qs = dv + kKeyRows * ld;              // [kQueryTile][dh], q * scale
  C* dos = qs + kQueryTile * dh;           // [kQueryTile][dh]
  C* ls = dos + kQueryTile * dh;           // [kQueryTile] lse (+inf past the end: P = 0)
  C* ds = ls + kQueryTile;                 // [kQueryTile] delta
  const int64_t b = blockIdx.x, j0 = int64_t(blockIdx.y) * kKeyRows;
  const T* qb = q + b * s.lq * dh;
  const T* gb = grad_out + b * s.lq * dh;
  load_rows(k + b * s.lk * dh, j0, kKeyRows, s.lk, dh, ks, ld, C(1));
  load_rows(v + b * s.lk * dh, j0, kKeyRows, s.lk, dh, vs, ld, C(1));
  for (int c = 0; c < dh; ++c) dk[r * ld + c] = dv[r * ld + c] = C(0);
  for (int64_t i0 = 0; i0 < s.lq; i0 += kQueryTile) {
    __syncthreads();
    load_rows(qb, i0, kQueryTile, s.lq, dh, qs, dh, scale);
    load_rows(gb, i0, kQueryTile, s.lq, dh, dos, dh, C(1));
    for (int ii = threadIdx.x; ii < kQueryTile; ii += blockDim.x) {
      bool in = i0 + ii < s.lq;
      ls[ii] = in ? lse[b * s.lq + i0 + ii] : C(INFINITY);
      ds[ii] = in ? delta[b * s.lq + i0 + ii] : C(0);
    }
    __syncthreads();
    for (int ii = 0; ii < kQueryTile; ++ii) {
      C sc = C(0), dp = C(0);
#pragma unroll 4
      for (int c = 0; c < dh; ++c) {
        sc += ks[r * ld + c] * qs[ii * dh + c];
        dp += vs[r * ld + c] * dos[ii * dh + c];
      }
      const C p = dev_exp(sc - ls[ii]);
      const C dsc = p * (dp - ds[ii]);  // times scale through qs
#pragma unroll 4
      for (int c = 0; c < dh; ++c) {
        dv[r * ld + c] += p * dos[ii * dh + c];
        dk[r * ld + c] += dsc * qs[ii * dh + c];
      }
    }
  }
  store_rows(dk, ld, j0, kKeyRows, s.lk, dh, grad_k + b * s.lk * dh);
  store_rows(dv, ld, j0, kKeyRows, s.lk, dh, grad_v + b * s.lk * dh);
}

unsigned tiles(int64_t n, int per) { return unsigned((n + per - 1) / per); }

// Opts a kernel into more than 48 KiB of dynamic shared memory, or names what does not fit.
template <typename Kernel>
void allow_shared(Kernel kernel, size_t bytes, const char* op, const Shape& s) {
  int device = 0, limit = 0;
  TRIP_CUDA_CHECK(cudaGetDevice(&device));
  TRIP_CUDA_CHECK(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  TRIP_CHECK(bytes <= size_t(limit),
             "{}: head dim {} needs {} bytes of shared memory per block; this GPU allows {}", op,
             s.dh, bytes, limit);
  TRIP_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
}

// Calls fn with the compile-time head dim: 32/64/128 unrolled, anything else generic (0).
template <typename Fn>
void dispatch_head_dim(int dh, Fn&& fn) {
  switch (dh) {
    case 32:
      return fn(std::integral_constant<int, 32>{});
    case 64:
      return fn(std::integral_constant<int, 64>{});
    case 128:
      return fn(std::integral_constant<int, 128>{});
    default:
      return fn(std::integral_constant<int, 0>{});
  }
}

Shape shape_of(const Tensor& q, const Tensor& k) {
  return Shape{q.size(0) * q.size(1), q.size(2), k.size(2), int(q.size(3))};
}

}  // namespace

void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, double scale,
                       const Tensor& out, const Tensor& lse) {
  DeviceGuard guard(q);
  const Shape s = shape_of(q, k);
  dispatch_floating(q.dtype(), "attention_forward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = compute_t<T>;
    dispatch_head_dim(s.dh, [&](auto d) {
      constexpr int D = decltype(d)::value;
      auto kernel = attention_forward_kernel<T, D>;
      size_t smem = sizeof(C) * size_t(2 * kRows * (s.dh + 1) + 2 * kKeys * s.dh);
      allow_shared(kernel, smem, "attention_forward", s);
      dim3 grid(unsigned(s.bh), tiles(s.lq, kRows));
      kernel<<<grid, kRows, smem>>>(q.data<T>(), k.data<T>(), v.data<T>(), out.data<T>(),
                                    lse.data<C>(), s, C(scale));
      TRIP_CUDA_CHECK_LAUNCH();
    });
  });
}

void attention_backward(const Tensor& grad_out, const Tensor& q, const Tensor& k, const Tensor& v,
                        const Tensor& out, const Tensor& lse, double scale, const Tensor& grad_q,
                        const Tensor& grad_k, const Tensor& grad_v) {
  DeviceGuard guard(q);
  const Shape s = shape_of(q, k);
  dispatch_floating(q.dtype(), "attention_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = compute_t<T>;
    Tensor delta = empty({s.bh * s.lq}, TensorOptions(lse.dtype(), q.device()));
    attention_delta_kernel<T><<<grid_size(s.bh * s.lq), kBlock>>>(
        grad_out.data<T>(), out.data<T>(), delta.data<C>(), s.bh * s.lq, s.dh);
    TRIP_CUDA_CHECK_LAUNCH();
    dispatch_head_dim(s.dh, [&](auto d) {
      constexpr int D = decltype(d)::value;
      auto q_kernel = attention_grad_q_kernel<T, D>;
      size_t q_smem = sizeof(C) * size_t(3 * kGradRows * (s.dh + 1) + 2 * kKeys * s.dh);
      allow_shared(q_kernel, q_smem, "attention_backward", s);
      q_kernel<<<dim3(unsigned(s.bh), tiles(s.lq, kGradRows)), kGradRows, q_smem>>>(
          grad_out.data<T>(), q.data<T>(), k.data<T>(), v.data<T>(), lse.data<C>(), delta.data<C>(),
          grad_q.data<T>(), s, C(scale));
      TRIP_CUDA_CHECK_LAUNCH();
      auto kv_kernel = attention_grad_kv_kernel<T, D>;
      size_t kv_smem =
          sizeof(C) * size_t(4 * kKeyRows * (s.dh + 1) + 2 * kQueryTile * s.dh + 2 * kQueryTile);
      allow_shared(kv_kernel, kv_smem, "attention_backward", s);
      kv_kernel<<<dim3(unsigned(s.bh), tiles(s.lk, kKeyRows)), kKeyRows, kv_smem>>>(
          grad_out.data<T>(), q.data<T>(), k.data<T>(), v.data<T>(), lse.data<C>(), delta.data<C>(),
          grad_k.data<T>(), grad_v.data<T>(), s, C(scale));
      TRIP_CUDA_CHECK_LAUNCH();
    });
  });
}

}  // namespace trip::gpu
