// defines: the direct AVX-512 and AVX2 kernels for stride-1 "same" convolutions (output size =
// input size in every dim, e.g. 3x3 padding 1, (3,1,1) padding (1,0,0)) used by
// tensor/cpu/conv.cpp: the forward (which also serves grad_input through the transposed-conv
// view) and grad_weight, without any im2col copy. Forward in conv_direct_tile.h (built per
// instruction set by conv_direct_avx512.cpp and conv_direct_avx2.cpp), grad_weight in conv_gw.cpp.
#pragma once
#include <cstdint>

namespace trip::cpu::conv_direct {

// A conv seen as 3-d (leading spatial dims of size 1 for conv1d/2d), NCDHW contiguous.
struct Shape {
  int64_t N, C_in, C_out, G;
  int64_t in[3], k[3], p[3], d[3];
};

// Whether the direct kernels take this conv: stride 1 (implied by the caller), output size equal
// to the input size in every dim, more than one kernel tap, and a GEMM running on AVX-512 or AVX2
// (the direct kernels use the same instruction set; set_gemm_kernel(generic) turns them off, so
// tests can compare them with the GEMM path, and each other, on one machine).
bool applies(const Shape& s);

// out[N][C_out][L] = bias + conv(x, w); w is [C_out][C_in/G][KK] as given by the user.
void forward(const float* x, const float* w, const float* bias, float* out, const Shape& s);
void forward(const double* x, const double* w, const double* bias, double* out, const Shape& s);

// gw[C_out][C_in/G][KK] = sum over samples and positions of grad_out * shifted x (written, not
// accumulated). Summation order depends on the shape only, never on the thread count.
void grad_weight(const float* go, const float* x, float* gw, const Shape& s);
void grad_weight(const double* go, const double* x, double* gw, const Shape& s);

}  // namespace trip::cpu::conv_direct
