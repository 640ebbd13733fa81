// defines: the op API of the tensor layer (namespace trip::ops): every op on both devices, with
// argument checks and clear errors, and no gradients. autograd/ wraps each differentiable op under
// the same name in namespace trip; most users want those.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tensor/adamw.h"
#include "tensor/op_kinds.h"
#include "tensor/tensor.h"

namespace trip::ops {

// ---- views (share storage, no copy) and layout (tensor/views.cpp) ----
Tensor view(const Tensor& t, Dims shape);  // requires compatible strides; one dim may be -1
std::optional<Tensor> try_view(const Tensor& t, Dims shape);  // empty when a copy would be needed
Tensor reshape(const Tensor& t, Dims shape);                  // a view when possible, else a copy
Tensor permute(const Tensor& t, const Dims& dims);
Tensor transpose(const Tensor& t, int64_t dim0, int64_t dim1);
Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length);
Tensor slice(const Tensor& t, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
Tensor select(const Tensor& t, int64_t dim, int64_t index);
Tensor expand(const Tensor& t, const Dims& shape);  // -1 keeps a dim; new dims on the left
Tensor squeeze(const Tensor& t);                    // drops every size-1 dim
Tensor squeeze(const Tensor& t, int64_t dim);       // drops dim if it has size 1
Tensor unsqueeze(const Tensor& t, int64_t dim);
Tensor flatten(const Tensor& t, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor contiguous(const Tensor& t);  // t itself when already contiguous
Tensor clone(const Tensor& t);       // always a new contiguous copy
Tensor to(const Tensor& t, Device device);
Tensor to(const Tensor& t, DType dtype);
// Shape after resolving a -1 entry; the error names `op` and both shapes.
Dims infer_shape(const Dims& shape, int64_t numel, const char* op);

// ---- in-place (bump the storage version) ----
void fill_(const Tensor& t, double value);
void copy_(const Tensor& dst, const Tensor& src);  // src broadcast to dst; converts dtype/device
void add_(const Tensor& a, const Tensor& b, double alpha = 1.0);  // a += alpha * b
void mul_(const Tensor& a, const Tensor& b);
void mul_(const Tensor& a, double b);

// ---- factories (tensor/factories.cpp) ----
Tensor zeros(const Dims& shape, TensorOptions options = {});
Tensor ones(const Dims& shape, TensorOptions options = {});
Tensor full(const Dims& shape, double value, TensorOptions options = {});
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
Tensor arange(double start, double end, double step = 1.0, TensorOptions options = {});
Tensor linspace(double start, double end, int64_t steps, TensorOptions options = {});

// ---- random numbers (tensor/random.cpp): Philox, same numbers on CPU and CUDA for a seed ----
void manual_seed(uint64_t seed);  // reseeds the default generator
struct Generator {
  uint64_t seed = 0;
  uint64_t offset = 0;  // in Philox blocks of 4 numbers; advances with every draw
};
Generator& default_generator();
Tensor rand(const Dims& shape, TensorOptions options = {}, Generator* gen = nullptr);
Tensor randn(const Dims& shape, TensorOptions options = {}, Generator* gen = nullptr);
Tensor uniform(const Dims& shape, double low, double high, TensorOptions options = {},
               Generator* gen = nullptr);

// ---- elementwise (tensor/elementwise.cpp) ----
Tensor unary(UnaryOp op, const Tensor& x, UnaryParams p = {});
Tensor unary_backward(UnaryOp op, const Tensor& x, const Tensor& grad_out, UnaryParams p = {});
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
Tensor binary(BinaryOp op, const Tensor& a, double b);
Tensor binary(BinaryOp op, double a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor masked_fill(const Tensor& t, const Tensor& mask, double value);
// A 0-d tensor holding `value` in the dtype a binary op with `like` should compute in: like's
// dtype when it is floating or value is integral, else f32 (the PyTorch rule for scalars).
Tensor scalar_like(double value, const Tensor& like);

// ---- reductions (tensor/reduce.cpp); empty dims = all dims ----
Tensor sum(const Tensor& t, const Dims& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& t, const Dims& dims = {}, bool keepdim = false);
Tensor amax(const Tensor& t, const Dims& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& t, const Dims& dims = {}, bool keepdim = false);
// Values and i64 indices of the extreme along one dim.
std::pair<Tensor, Tensor> max(const Tensor& t, int64_t dim, bool keepdim = false);
std::pair<Tensor, Tensor> min(const Tensor& t, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& t, int64_t dim, bool keepdim = false);
Tensor var(const Tensor& t, const Dims& dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor std(const Tensor& t, const Dims& dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor norm(const Tensor& t, double p = 2.0, const Dims& dims = {}, bool keepdim = false);
// Sums `t` down to `shape` (the reverse of broadcasting), used for gradients of broadcast ops.
Tensor sum_to(const Tensor& t, const Dims& shape);

// ---- softmax (tensor/softmax.cpp) ----
Tensor softmax(const Tensor& t, int64_t dim);
Tensor log_softmax(const Tensor& t, int64_t dim);

// ---- matmul (tensor/matmul.cpp): NumPy semantics, batch dims broadcast ----
Tensor matmul(const Tensor& a, const Tensor& b);

// ---- joining, splitting, indexing (tensor/index.cpp) ----
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim);
std::vector<Tensor> split(const Tensor& t, int64_t split_size, int64_t dim);  // views
std::vector<Tensor> chunk(const Tensor& t, int64_t chunks, int64_t dim);      // views
Tensor index_select(const Tensor& t, int64_t dim, const Tensor& index);
Tensor gather(const Tensor& t, int64_t dim, const Tensor& index);
// Returns a copy of t with src added at index along dim (out-of-place scatter_add).
Tensor scatter_add(const Tensor& t, int64_t dim, const Tensor& index, const Tensor& src);
// Constant padding; pads lists (before, after) pairs starting from the LAST dim, as PyTorch's
// F.pad.
Tensor pad(const Tensor& t, const std::vector<int64_t>& pads, double value = 0.0);
Tensor repeat(const Tensor& t, const Dims& repeats);

// ---- layer ops (tensor/conv.cpp, tensor/norm.cpp, tensor/attention.cpp): checked entry points
// of the fused layer kernels; autograd/ pairs each forward with its backward ----
// N-d convolution, N = input.dim() - 2 (1..3); bias may be undefined. p.spatial is set from the
// input.
Tensor conv(const Tensor& input, const Tensor& weight, const Tensor& bias, ConvParams p);
struct ConvGrads {
  Tensor input, weight, bias;  // undefined where not asked for
};
ConvGrads conv_backward(const Tensor& grad_out, const Tensor& input, const Tensor& weight,
                        bool need_input, bool need_weight, bool need_bias, ConvParams p);

struct NormResult {
  Tensor out, mean, rstd;  // mean/rstd are what backward needs
};
struct NormGrads {
  Tensor x, weight, bias, scale, shift;  // undefined where not asked for
};
// GroupNorm (optionally fused with a following SiLU) over x [N, C, *].
NormResult group_norm(const Tensor& x, int64_t groups, const Tensor& weight, const Tensor& bias,
                      double eps, bool silu = false);
NormGrads group_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                              const Tensor& bias, const NormResult& saved, int64_t groups,
                              bool silu, bool need_x, bool need_weight, bool need_bias);
// LayerNorm over the last dim of x [B, ..., D]; with scale/shift [B, D] it is AdaLN:
// norm(x) * weight + bias, then * (1 + scale) + shift per sample.
NormResult layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                      const Tensor& scale, const Tensor& shift, double eps);
NormGrads layer_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                              const Tensor& bias, const Tensor& scale, const Tensor& shift,
                              const NormResult& saved, bool need_x, bool need_weight,
                              bool need_bias, bool need_scale, bool need_shift);

struct AttentionResult {
  Tensor out, lse;
};
struct AttentionGrads {
  Tensor q, k, v;
};
// softmax(q k^T * scale) v for q [B, H, Lq, Dh], k/v [B, H, Lk, Dh].
AttentionResult attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale);
AttentionGrads attention_backward(const Tensor& grad_out, const Tensor& q, const Tensor& k,
                                  const Tensor& v, const AttentionResult& saved, double scale);
// Which kernels CUDA attention runs: ours (tensor/cuda/attention.cu, the default) or cuDNN's
// fused flash attention (tensor/cuda/attention_cudnn.cu) for f16/bf16, where cuDNN supports the
// shape; f32/f64 and unsupported shapes always run ours. Starts from TRIP_ATTENTION=own|cudnn.
enum class AttentionBackend { own, cudnn };
AttentionBackend attention_backend();
void set_attention_backend(AttentionBackend backend);
// How many attention forwards and backwards cuDNN has run in this process (0 without cuDNN).
int64_t cudnn_attention_runs();
// Builds (and finalises) the tensor and operation descriptors of every cuDNN attention graph for
// a sample shape; needs the cuDNN library but no GPU, so CPU-only machines check the graphs too.
// Returns "" when all are accepted, else cuDNN's complaint; "no cuDNN: ..." in builds without it.
std::string cudnn_attention_self_check();

// ---- optimizer kernels (tensor/adamw.cpp) ----
// One AdamW step of many parameters in one pass (one CUDA launch per dtype): p, m, v updated in
// place with g, every tensor contiguous, f32 or f64, all on one device; bumps their versions.
void adamw_step_(const std::vector<AdamWTensors>& params);

}  // namespace trip::ops
