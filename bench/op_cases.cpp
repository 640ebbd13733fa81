// The cases of `trip-bench ops`: matmul at square and video-UNet shapes, elementwise ops,
// softmax and reductions. Case names are stable: scripts and bench/RESULTS.md refer to them.
#include <fmt/core.h>

#include "bench/cases.h"
#include "tensor/ops.h"

namespace trip::bench {

std::vector<Case> op_cases(Device dev) {
  std::vector<Case> cases;
  auto opt = TensorOptions(DType::f32, dev);
  auto add_matmul = [&](const std::string& name, int64_t b, int64_t m, int64_t k, int64_t n,
                        DType dtype) {
    auto o = TensorOptions(dtype, dev);
    Tensor x = ops::randn(b > 1 ? Dims{b, m, k} : Dims{m, k}, o);
    Tensor y = ops::randn(b > 1 ? Dims{b, k, n} : Dims{k, n}, o);
    cases.push_back({name, 2.0 * double(b) * m * k * n, 0, [x, y] { ops::matmul(x, y); }});
  };
  for (int64_t s : {512, 1024, 2048}) {
    add_matmul(fmt::format("matmul_f32_{}", s), 1, s, s, s, DType::f32);
  }
  // The projections of a video UNet: tokens x channels @ channels x channels (tiny preset: 32x32
  // frames, 8 frames, 64 channels; modelscope: 32x32 latents, 320 channels), attention
  // scores per head ([B*heads, tokens, head_dim] @ [.., head_dim, tokens]) and a GEGLU projection.
  add_matmul("matmul_f32_proj_8192x64x64", 1, 8192, 64, 64, DType::f32);
  add_matmul("matmul_f32_proj_8192x320x320", 1, 8192, 320, 320, DType::f32);
  add_matmul("matmul_f32_geglu_4096x320x2560", 1, 4096, 320, 2560, DType::f32);
  add_matmul("matmul_f32_attn_64x256x32x256", 64, 256, 32, 256, DType::f32);
  if (dev.is_cuda()) {
    add_matmul("matmul_bf16_4096", 1, 4096, 4096, 4096, DType::bf16);
    add_matmul("matmul_bf16_proj_65536x1280x1280", 1, 65536, 1280, 1280, DType::bf16);
    add_matmul("matmul_f16_4096", 1, 4096, 4096, 4096, DType::f16);
  }

  const int64_t n = 4 << 20;  // 4M elements
  Tensor a = ops::randn({n}, opt), b = ops::randn({n}, opt);
  double bytes2 = 3.0 * n * 4, bytes1 = 2.0 * n * 4;
  cases.push_back({"add_4M", 0, bytes2, [a, b] { ops::binary(BinaryOp::add, a, b); }});
  cases.push_back({"mul_4M", 0, bytes2, [a, b] { ops::binary(BinaryOp::mul, a, b); }});
  cases.push_back({"add_bcast_4M", 0, bytes1, [a] { ops::binary(BinaryOp::add, a, 1.0); }});
  cases.push_back({"exp_4M", 0, bytes1, [a] { ops::unary(UnaryOp::exp, a); }});
  cases.push_back({"silu_4M", 0, bytes1, [a] { ops::unary(UnaryOp::silu, a); }});
  cases.push_back({"gelu_4M", 0, bytes1, [a] { ops::unary(UnaryOp::gelu_erf, a); }});
  Tensor t = ops::randn({2048, 2048}, opt);
  cases.push_back({"transpose_copy_2048", 0, 2.0 * 2048 * 2048 * 4,
                   [t] { ops::contiguous(ops::transpose(t, 0, 1)); }});

  Tensor s = ops::randn({4096, 1024}, opt);
  double sbytes = 2.0 * 4096 * 1024 * 4;
  cases.push_back({"softmax_4096x1024", 0, sbytes, [s] { ops::softmax(s, -1); }});
  cases.push_back({"log_softmax_4096x1024", 0, sbytes, [s] { ops::log_softmax(s, -1); }});
  cases.push_back({"sum_4M", 0, n * 4.0, [a] { ops::sum(a); }});
  cases.push_back({"sum_rows_4096x1024", 0, 4096 * 1024 * 4.0, [s] { ops::sum(s, {1}); }});
  cases.push_back({"sum_cols_4096x1024", 0, 4096 * 1024 * 4.0, [s] { ops::sum(s, {0}); }});
  // A Linear bias's gradient: [tokens, out] summed over the tokens (a column reduction).
  Tensor bg = ops::randn({32768, 64}, opt);
  cases.push_back({"sum_cols_bias_32768x64", 0, 32768 * 64 * 4.0, [bg] { ops::sum(bg, {0}); }});
  cases.push_back({"amax_rows_4096x1024", 0, 4096 * 1024 * 4.0, [s] { ops::amax(s, {1}); }});
  cases.push_back({"var_rows_4096x1024", 0, 3 * 4096 * 1024 * 4.0, [s] { ops::var(s, {1}); }});
  return cases;
}

}  // namespace trip::bench
