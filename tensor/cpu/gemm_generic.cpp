// defines: the portable GEMM micro-kernels, used where the CPU has neither AVX-512 nor AVX2+FMA
// (or when forced, so tests cover this path everywhere). Plain loops over a small register tile
// that the compiler vectorises for the baseline instruction set.
#include "tensor/cpu/gemm_kernels.h"

// Determinism needs every kernel variant to round alike; a compiler allowed to fuse a*b + c into
// an FMA (-march=native on an FMA machine) would do so in some variants and not in others.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace trip::cpu::gemm_detail {
namespace {

template <typename T, int MR, int NR>
void store_tile(const T (&acc)[MR][NR], T* c, int64_t c_rs, int m, int n, bool add) {
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) c[i * c_rs + j] = add ? c[i * c_rs + j] + acc[i][j] : acc[i][j];
}

// One tile: A packed (a[k*MR + i], kPackedA) or read in place (a[i*a_rs + k]; rows >= m repeat
// row m-1 so nothing past the matrix is read), B a padded panel at b[k*b_rs + j].
template <typename T, int MR, int NR, bool kPackedA>
void kernel(int64_t kc, const T* a, int64_t a_rs, const T* b, int64_t b_rs, T* c, int64_t c_rs,
            int m, int n, bool add) {
  const T* rows[MR];
  for (int i = 0; i < MR; ++i) rows[i] = a + (i < m ? i : m - 1) * a_rs;
  T acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k, b += b_rs)
    for (int i = 0; i < MR; ++i) {
      const T ai = kPackedA ? a[k * MR + i] : rows[i][k];
      for (int j = 0; j < NR; ++j) acc[i][j] += ai * b[j];
    }
  store_tile<T, MR, NR>(acc, c, c_rs, m, n, add);
}

template <typename T, int MR, int NR>
Tile<T> tile() {
  constexpr Kernel<T> packed = kernel<T, MR, NR, true>, in_place = kernel<T, MR, NR, false>;
  return {{packed, packed, packed}, {in_place, in_place, in_place}, MR, NR, false};
}

}  // namespace

KernelSet<float> generic_kernels_f32() { return {tile<float, 4, 8>(), {}, 256, 128, 1024}; }
KernelSet<double> generic_kernels_f64() { return {tile<double, 4, 4>(), {}, 256, 128, 1024}; }

}  // namespace trip::cpu::gemm_detail
