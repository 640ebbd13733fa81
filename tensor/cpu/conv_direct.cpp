// defines: the direct convolutions' geometry (the taps' offsets and lane masks), which of them a
// conv may take, and the dispatch of the forward to the AVX-512 or AVX2 kernels
// (conv_direct_tile.h explains the kernel; conv_gw.cpp holds grad_weight).
#include "tensor/cpu/conv_direct.h"

#include "tensor/cpu/conv_direct_tile.h"
#include "tensor/cpu/gemm.h"

namespace trip::cpu::conv_direct {
namespace {

// The GEMM's AVX-512 check lacks DQ, which conv_direct_avx512.cpp is built with.
bool cpu_has_avx512dq() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool has = __builtin_cpu_supports("avx512dq");
  return has;
#else
  return false;
#endif
}

// The instruction set of the direct kernels follows the GEMM's (set_gemm_kernel), so tests can
// run both, and the GEMM path, on one machine. active_gemm_kernel() names only a set the CPU has.
bool use_avx512() { return active_gemm_kernel() == GemmKernel::avx512 && cpu_has_avx512dq(); }
bool use_avx2() { return active_gemm_kernel() == GemmKernel::avx2; }

}  // namespace

Taps make_taps(const Shape& s, int lanes) {
  Taps t;
  const int64_t L = plane_size(s), H = s.in[1], W = s.in[2];
  t.taps = kernel_volume(s);
  t.vectors = (L + lanes - 1) / lanes;
  int64_t disp[64][3];
  for (int64_t tap = 0; tap < t.taps; ++tap) {
    int64_t kd = tap / (s.k[1] * s.k[2]), kh = tap / s.k[2] % s.k[1], kw = tap % s.k[2];
    disp[tap][0] = kd * s.d[0] - s.p[0], disp[tap][1] = kh * s.d[1] - s.p[1];
    disp[tap][2] = kw * s.d[2] - s.p[2];
    t.off.push_back((disp[tap][0] * H + disp[tap][1]) * W + disp[tap][2]);
  }
  t.mask.assign(t.vectors * t.taps, 0);
  for (int64_t pos = 0; pos < L; ++pos) {
    int64_t od = pos / (H * W), oh = pos / W % H, ow = pos % W;
    for (int64_t tap = 0; tap < t.taps; ++tap) {
      int64_t id = od + disp[tap][0], ih = oh + disp[tap][1], iw = ow + disp[tap][2];
      if (id >= 0 && id < s.in[0] && ih >= 0 && ih < H && iw >= 0 && iw < W)
        t.mask[pos / lanes * t.taps + tap] |= uint16_t(1u << (pos % lanes));
    }
  }
  return t;
}

bool applies(const Shape& s) {
  // The masks hold 16 lanes and make_taps at most 64 taps (5x5 in 2-d, 3x3x3 and 4x4x4 in 3-d).
  const int64_t KK = kernel_volume(s);
  if (KK < 2 || KK > 64) return false;
  for (int i = 0; i < 3; ++i)
    if (2 * s.p[i] != s.d[i] * (s.k[i] - 1)) return false;  // output size == input size
  return use_avx512() || use_avx2();
}

void forward(const float* x, const float* w, const float* bias, float* out, const Shape& s) {
  use_avx512() ? forward_avx512(x, w, bias, out, s) : forward_avx2(x, w, bias, out, s);
}
void forward(const double* x, const double* w, const double* bias, double* out, const Shape& s) {
  use_avx512() ? forward_avx512(x, w, bias, out, s) : forward_avx2(x, w, bias, out, s);
}

}  // namespace trip::cpu::conv_direct
