// CPU matmul: f32 and f64 go straight to our packed GEMM (tensor/cpu/gemm.h), which reads any
// strides while packing; bf16/f16 are widened to f32 first (there is no 16-bit CPU kernel yet).
#include "tensor/cpu/gemm.h"
#include "tensor/cpu/kernels.h"
#include "tensor/ops.h"

namespace trip::cpu {

void matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  int64_t batch = a.size(0), m = a.size(1), k = a.size(2), n = b.size(2);
  const Dims& sa = a.strides();
  const Dims& sb = b.strides();
  const Dims& so = out.strides();
  switch (a.dtype()) {
    case DType::f32:
      gemm_f32(batch, m, n, k, a.data<float>(), sa[0], sa[1], sa[2], b.data<float>(), sb[0], sb[1],
               sb[2], out.data<float>(), so[0], so[1], /*accumulate=*/false);
      return;
    case DType::f64:
      gemm_f64(batch, m, n, k, a.data<double>(), sa[0], sa[1], sa[2], b.data<double>(), sb[0],
               sb[1], sb[2], out.data<double>(), so[0], so[1], /*accumulate=*/false);
      return;
    case DType::bf16:
    case DType::f16: {
      Tensor out32 = empty(out.shape(), TensorOptions(DType::f32));
      matmul(ops::to(a, DType::f32), ops::to(b, DType::f32), out32);
      copy(out32, out);
      return;
    }
    default:
      fail("matmul: expected a floating dtype, got {}", a.dtype());
  }
}

}  // namespace trip::cpu
