// defines: gemm_f32 / gemm_f64, the CPU matrix multiply (single or batched, any strides), and
// set_gemm_kernel() to force an instruction set (tests and benchmarks run every path on one
// machine). The implementation is a packed, cache-blocked GEMM (tensor/cpu/gemm.cpp) with
// micro-kernels per instruction set (gemm_avx512.cpp, gemm_avx2.cpp, gemm_generic.cpp) chosen at
// run time. Results are bit-identical for any number of OpenMP threads.
#pragma once
#include <cstdint>

namespace trip::cpu {

// C = A @ B (accumulate=false) or C += A @ B (accumulate=true), for one matrix or a batch.
// A(i,k) = a[i*a_rs + k*a_cs], B(k,j) = b[k*b_rs + j*b_cs], C(i,j) = c[i*c_rs + j] (C rows
// contiguous). Any non-negative strides (transposed operands cost nothing extra: packing reads
// them). Batched: matrix p uses a + p*a_bs, b + p*b_bs, c + p*c_bs (a_bs or b_bs may be 0 =
// broadcast). K == 0 writes zeros (or leaves C unchanged when accumulating); M, N or batch == 0 is
// a no-op. With accumulate=false C is only written, never read, so it may hold NaN beforehand.
void gemm_f32(int64_t batch, int64_t M, int64_t N, int64_t K, const float* a, int64_t a_bs,
              int64_t a_rs, int64_t a_cs, const float* b, int64_t b_bs, int64_t b_rs, int64_t b_cs,
              float* c, int64_t c_bs, int64_t c_rs, bool accumulate);
void gemm_f64(int64_t batch, int64_t M, int64_t N, int64_t K, const double* a, int64_t a_bs,
              int64_t a_rs, int64_t a_cs, const double* b, int64_t b_bs, int64_t b_rs, int64_t b_cs,
              double* c, int64_t c_bs, int64_t c_rs, bool accumulate);

// Which micro-kernels gemm uses. `automatic` (the default) picks the best the CPU supports;
// forcing a set the CPU lacks falls back to the best supported one below it.
enum class GemmKernel { automatic, avx512, avx2, generic };
void set_gemm_kernel(GemmKernel kernel);
// The set gemm uses now (never `automatic`).
GemmKernel active_gemm_kernel();

}  // namespace trip::cpu
