#include "tensor/cuda/nvcc_fmt.h"

// defines: matmul through cublasGemmStridedBatchedEx, and the per-device cuBLAS handles.
//
// cuBLAS is column-major; our tensors are row-major. A row-major [M, N] matrix C is, read
// column-major, the [N, M] matrix C^T, so we ask cuBLAS for C^T = B^T A^T: its first operand is
// our b, its second our a, with m = N, n = M, k = K. A row-major operand (unit stride along
// columns) read column-major is already the transpose cuBLAS needs (CUBLAS_OP_N, leading
// dimension = row stride); a column-major one (a transposed view) is passed with CUBLAS_OP_T
// (leading dimension = column stride). Any other layout is first copied to a contiguous scratch.
#include <cublas_v2.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "tensor/cuda/allocator.h"
#include "tensor/cuda/check.h"
#include "tensor/cuda/kernels.h"
#include "tensor/cuda/launch.h"
#include "tensor/dtype.h"

namespace trip::gpu {
namespace {

// cuBLAS recommends 32 MiB of workspace on Hopper (4 MiB before); one fixed buffer per handle
// also keeps cuBLAS from allocating behind the caching allocator's back.
constexpr size_t kWorkspaceBytes = size_t(32) << 20;

// One handle per device, created on first use and kept for the life of the process (destroying
// handles during static destruction races the CUDA runtime's own teardown).
cublasHandle_t blas_handle(int device) {
  static std::mutex mutex;
  static auto* handles = new std::unordered_map<int, cublasHandle_t>();
  std::lock_guard<std::mutex> lock(mutex);
  auto it = handles->find(device);
  if (it != handles->end()) return it->second;
  cublasHandle_t handle = nullptr;
  TRIP_CUBLAS_CHECK(cublasCreate(&handle));
  TRIP_CUBLAS_CHECK(cublasSetStream(handle, 0));
  void* workspace = CachingAllocator::instance().allocate(kWorkspaceBytes, device);  // never freed
  TRIP_CUBLAS_CHECK(cublasSetWorkspace(handle, workspace, kWorkspaceBytes));
  // Split-K reductions in f32, never in the 16-bit output type: accuracy before speed.
  TRIP_CUBLAS_CHECK(cublasSetMathMode(
      handle,
      cublasMath_t(CUBLAS_DEFAULT_MATH | CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)));
  handles->emplace(device, handle);
  return handle;
}

bool tf32_allowed() {
  static const bool allowed = [] {
    const char* env = std::getenv("TRIP_ALLOW_TF32");
    return env && std::strcmp(env, "1") == 0;
  }();
  return allowed;
}

// One operand of the gemm in cuBLAS terms: [B, R, C] row-major-indexed data of `t`, or of a
// contiguous scratch copy of it.
struct GemmOperand {
  const void* data = nullptr;
  cublasOperation_t op = CUBLAS_OP_N;
  int64_t ld = 1;
  int64_t batch_stride = 0;
  DeviceBuffer scratch;
};

GemmOperand make_operand(const Tensor& t) {
  const int64_t batch = t.size(0), rows = t.size(1), cols = t.size(2);
  const int64_t sb = t.stride(0), sr = t.stride(1), sc = t.stride(2);
  GemmOperand g;
  g.data = t.data_ptr();
  g.batch_stride = batch == 1 ? 0 : sb;
  // Strides of size-1 dims are meaningless, hence the `== 1` alternatives. Row stride 0 (rows
  // broadcast) fails both tests and takes the copy.
  if ((sc == 1 || cols == 1) && (rows == 1 || sr >= std::max<int64_t>(cols, 1))) {
    g.op = CUBLAS_OP_N;
    g.ld = rows == 1 ? std::max<int64_t>(cols, 1) : sr;
    return g;
  }
  if ((sr == 1 || rows == 1) && (cols == 1 || sc >= std::max<int64_t>(rows, 1))) {
    g.op = CUBLAS_OP_T;
    g.ld = cols == 1 ? std::max<int64_t>(rows, 1) : sc;
    return g;
  }
  // Neither layout: copy to contiguous [copies, rows, cols]. A broadcast batch (stride 0) is
  // copied once and stays broadcast.
  const int64_t copies = (batch == 1 || sb == 0) ? 1 : batch;
  const Dims shape{copies, rows, cols};
  g.scratch =
      DeviceBuffer(size_t(copies * rows * cols) * element_size(t.dtype()), t.device().index);
  copy_strided(t.dtype(), t.data_ptr(), t.strides(), t.dtype(), g.scratch.get(),
               contiguous_strides(shape), shape);
  g.data = g.scratch.get();
  g.op = CUBLAS_OP_N;
  g.ld = cols;
  g.batch_stride = copies == 1 ? 0 : rows * cols;
  return g;
}

cudaDataType blas_type(DType t) {
  switch (t) {
    case DType::f32:
      return CUDA_R_32F;
    case DType::f64:
      return CUDA_R_64F;
    case DType::bf16:
      return CUDA_R_16BF;
    case DType::f16:
      return CUDA_R_16F;
    default:
      fail("matmul (cuda): expected f32, f64, bf16 or f16, got {}", t);
  }
}

int to_int(int64_t v, const char* what) {
  TRIP_CHECK(v >= 0 && v <= INT_MAX, "matmul (cuda): {} = {} does not fit cuBLAS's int", what, v);
  return int(v);
}

}  // namespace

void matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  TRIP_CHECK(a.dim() == 3 && b.dim() == 3 && out.dim() == 3 && a.size(0) == b.size(0) &&
                 a.size(0) == out.size(0) && a.size(2) == b.size(1) && out.size(1) == a.size(1) &&
                 out.size(2) == b.size(2),
             "matmul (cuda): expected a [B, M, K], b [B, K, N], out [B, M, N]; got {}, {}, {}",
             a.shape(), b.shape(), out.shape());
  TRIP_CHECK(a.dtype() == b.dtype() && a.dtype() == out.dtype() && out.is_contiguous(),
             "matmul (cuda): a ({}), b ({}) and out ({}) need one dtype and a contiguous out",
             a.dtype(), b.dtype(), out.dtype());
  const int64_t batch = a.size(0), m = a.size(1), k = a.size(2), n = b.size(2);
  if (out.numel() == 0) return;
  DeviceGuard guard(out);
  const DType dtype = out.dtype();
  const cudaDataType type = blas_type(dtype);
  if (k == 0) {  // an empty sum: zeros (cuBLAS is not asked to handle k = 0)
    TRIP_CUDA_CHECK(cudaMemsetAsync(out.data_ptr(), 0, out.nbytes(), 0));
    return;
  }
  GemmOperand ga = make_operand(a), gb = make_operand(b);
  cublasHandle_t handle = blas_handle(out.device().index);

  // f64 computes in f64; everything else in f32 (16-bit inputs accumulate in f32). TF32 tensor
  // cores for f32 only when TRIP_ALLOW_TF32=1.
  const float alpha_f = 1.0f, beta_f = 0.0f;
  const double alpha_d = 1.0, beta_d = 0.0;
  const bool f64 = dtype == DType::f64;
  cublasComputeType_t compute = f64 ? CUBLAS_COMPUTE_64F
                                : (dtype == DType::f32 && tf32_allowed())
                                    ? CUBLAS_COMPUTE_32F_FAST_TF32
                                    : CUBLAS_COMPUTE_32F;
  const void* alpha = f64 ? static_cast<const void*>(&alpha_d) : &alpha_f;
  const void* beta = f64 ? static_cast<const void*>(&beta_d) : &beta_f;

  // Column-major C^T [N, M] = op(b-operand) [N, K] x op(a-operand) [K, M].
  TRIP_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
      handle, gb.op, ga.op, to_int(n, "N"), to_int(m, "M"), to_int(k, "K"), alpha, gb.data, type,
      to_int(gb.ld, "ld(b)"), gb.batch_stride, ga.data, type, to_int(ga.ld, "ld(a)"),
      ga.batch_stride, beta, out.data_ptr(), type, to_int(n, "N"), m * n, to_int(batch, "B"),
      compute, CUBLAS_GEMM_DEFAULT));
}

}  // namespace trip::gpu
