// defines: the contract between the GEMM driver (gemm.cpp) and the micro-kernels of each
// instruction set (gemm_avx512.cpp, gemm_avx2.cpp, gemm_generic.cpp): Kernel, Tile, KernelSet and
// the functions that return a KernelSet per instruction set and element type; and the packing
// routines (gemm_pack.cpp for any layout, gemm_avx512_pack.cpp for fast transposes).
#pragma once
#include <cstdint>

namespace trip::cpu::gemm_detail {

// A micro-kernel updates one MR x NR tile of C:
//   C(i, j) = (add ? C(i, j) : 0) + sum_{k < kc} A(i, k) B(k, j)   for i < m, j < n only,
// with C(i, j) = c[i*c_rs + j] (with add == false C is never read) and B(k, j) = b[k*b_rs + j]
// (b_rs = NR for a packed panel). A comes in one of two forms:
//   packed_a:   a[k*MR + i], a kc x MR panel zero-padded to MR rows (a_rs is ignored);
//   in_place_a: a[i*a_rs + k], a row-major matrix read where it lies; rows >= m are not read.
// B must hold all NR columns (packed and zero-padded) unless the tile says `b_any_width`, in
// which case columns >= n are not read and B may be the caller's matrix itself.
// Every element of the tile owns one accumulator that sums its products in increasing k (with FMA
// where the instruction set has it), so an element's value depends on the kc split and the
// instruction set only, never on where its tile lies, which tile shape or which form of A:
// any thread partition gives the same bits.
template <typename T>
using Kernel = void (*)(int64_t kc, const T* a, int64_t a_rs, const T* b, int64_t b_rs, T* c,
                        int64_t c_rs, int m, int n, bool add);

// One micro-tile shape: its kernels and the tile they compute. Each form of A has three kernels:
// [2] computes all mr rows, [1] and [0] only the first 2mr/3 and mr/3 rows (same A layout), so a
// last, partial row panel (M = 16 with mr = 12, say) does not pay for the rows it lacks.
template <typename T>
struct Tile {
  Kernel<T> packed_a[3] = {};  // nullptr: this tile shape is not available
  Kernel<T> in_place_a[3] = {};
  int mr = 0, nr = 0;
  bool b_any_width = false;
  // The kernel index for a panel of m rows (1 <= m <= mr).
  int rows_class(int m) const { return (3 * m + mr - 1) / mr - 1; }
};

// Packs like pack_panels (below) for a source contiguous along k (s_k == 1, so packing is a
// transpose) with instruction-set-specific code; returns false for a width it does not handle.
template <typename T>
using TransposePack = bool (*)(int width, int64_t count, int64_t kc, const T* src, int64_t s_w,
                               T* dst);

// The kernels of one instruction set and element type. `narrow` (one vector of columns) serves
// C with few columns, where the wide tile would compute mostly padding; the two give identical
// bits (same per-element summation), so the choice can follow the shape freely.
template <typename T>
struct KernelSet {
  Tile<T> wide, narrow;
  int64_t kc = 0, mc = 0, nc = 0;  // cache blocking: A block mc x kc stays in L2, B panel kc x nr
                                   // in L1, B block kc x nc in L3
  TransposePack<T> pack_transposed = nullptr;  // optional
};

// Packs `count` rows or columns of a matrix into panels of `width`, zero-padded to a multiple of
// width: dst[(q*kc + k)*width + w] = src[(q*width + w)*s_w + k*s_k] (gemm_pack.cpp). For A,
// w runs over rows (s_w = a_rs, s_k = a_cs); for B over columns (s_w = b_cs, s_k = b_rs).
template <typename T>
void pack_panels(int width, int64_t count, int64_t kc, const T* src, int64_t s_w, int64_t s_k,
                 T* dst);

bool avx512_pack_transposed_f32(int width, int64_t count, int64_t kc, const float* src, int64_t s_w,
                                float* dst);  // gemm_avx512_pack.cpp
bool avx512_pack_transposed_f64(int width, int64_t count, int64_t kc, const double* src,
                                int64_t s_w, double* dst);

KernelSet<float> avx512_kernels_f32();
KernelSet<double> avx512_kernels_f64();
KernelSet<float> avx2_kernels_f32();
KernelSet<double> avx2_kernels_f64();
KernelSet<float> generic_kernels_f32();
KernelSet<double> generic_kernels_f64();

}  // namespace trip::cpu::gemm_detail
