// defines: Backend, the interface each device implements (CPU in tensor/cpu/, CUDA in
// tensor/cuda/), and backend(device) to find it. The op API in tensor/ops*.cpp validates
// arguments, allocates outputs and brings inputs into the layout each method documents, so the
// kernels behind this interface only compute.
#pragma once
#include <cstddef>
#include <vector>

#include "tensor/adamw.h"
#include "tensor/op_kinds.h"
#include "tensor/tensor.h"

namespace trip {

// The [outer, reduced, inner] form of a reduction or softmax over a contiguous input: element
// (o, r, i) sits at o*reduced*inner + r*inner + i; outputs are [outer, inner] (softmax: the input's
// shape).
struct ReduceGeometry {
  int64_t outer = 1;
  int64_t reduced = 1;
  int64_t inner = 1;
};

// The [outer, size, inner] view of a shape around `dim` (size in `reduced`): the geometry of
// softmax and of the index kernels.
inline ReduceGeometry geometry_around(const Dims& shape, int dim) {
  ReduceGeometry g;
  for (int d = 0; d < shape.size(); ++d) {
    if (d < dim)
      g.outer *= shape[d];
    else if (d == dim)
      g.reduced = shape[d];
    else
      g.inner *= shape[d];
  }
  return g;
}

class Backend {
 public:
  virtual ~Backend() = default;
  virtual void* allocate(size_t nbytes, Device device) = 0;
  virtual void deallocate(void* ptr, size_t nbytes, Device device) = 0;

  // dst = src (same shape, both on this device, any strides; dtypes may differ: converting copy).
  virtual void copy(const Tensor& src, const Tensor& dst) = 0;
  // Copies contiguous `src` into contiguous `dst` of the same dtype and size on another device.
  virtual void transfer(const Tensor& src, const Tensor& dst) = 0;
  virtual void fill(const Tensor& dst, double value) = 0;

  // out = op(x); x and out have the same shape and dtype, any strides.
  virtual void unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryParams p) = 0;
  // grad_x = grad_out * op'(x); all three of one shape and dtype, any strides.
  virtual void unary_backward(UnaryOp op, const Tensor& x, const Tensor& grad_out,
                              const Tensor& grad_x, UnaryParams p) = 0;
  // out = a op b; a and b already broadcast (expanded) to out's shape and of one dtype; out has
  // that dtype too, or bool for comparisons. Any strides; out may alias a (in-place ops).
  virtual void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) = 0;
  // out = cond ? a : b; cond is bool, all expanded to out's shape, a/b/out of one dtype.
  virtual void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) = 0;

  // Reductions over the middle axis of a contiguous input (see ReduceGeometry); out contiguous.
  virtual void reduce(ReduceOp op, const Tensor& in, const Tensor& out, ReduceGeometry g) = 0;
  // Max (is_max) or min with the index of the first extreme element; NaN wins, as in PyTorch.
  virtual void arg_reduce(bool is_max, const Tensor& in, const Tensor& values,
                          const Tensor& indices, ReduceGeometry g) = 0;
  // Softmax (or log-softmax) along the middle axis; in and out contiguous, same shape.
  virtual void softmax(const Tensor& in, const Tensor& out, ReduceGeometry g, bool log) = 0;

  // out[b] = a[b] @ b[b] for 3-d a [B, M, K], b [B, K, N], out [B, M, N] contiguous. a and b may
  // have any strides (transposed operands, batch stride 0 for broadcast); one floating dtype.
  virtual void matmul(const Tensor& a, const Tensor& b, const Tensor& out) = 0;

  // Fills contiguous out with Philox numbers: element i uses counter block offset + i / 4, lane
  // i % 4 (tensor/philox.h), so CPU and CUDA agree. uniform: [a, b); normal: mean a, std b.
  virtual void random(RandomKind kind, const Tensor& out, uint64_t seed, uint64_t offset, double a,
                      double b) = 0;

  // Indexing over a contiguous input viewed as [outer, size, inner] around `dim`; index i64
  // contiguous. index_select: out [outer, index.numel(), inner]. gather: out and index share a
  // shape (the input's shape except along dim). scatter_add: out[..index..] += src, index and src
  // sharing a shape. Index values are checked by the op layer before the call.
  virtual void index_select(const Tensor& in, int dim, const Tensor& index, const Tensor& out) = 0;
  virtual void gather(const Tensor& in, int dim, const Tensor& index, const Tensor& out) = 0;
  virtual void scatter_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src) = 0;

  // ---- layer kernels (nn/ builds on them; fused forward and backward) ----
  // Convolution. input [N, C_in, *spatial], weight [C_out, C_in / groups, *kernel], bias [C_out]
  // or undefined, out [N, C_out, *out_spatial]; all contiguous, one floating dtype.
  virtual void conv_forward(const Tensor& input, const Tensor& weight, const Tensor& bias,
                            const Tensor& out, const ConvParams& p) = 0;
  // Gradients of conv_forward; each of grad_input, grad_weight, grad_bias may be undefined (not
  // wanted). Outputs contiguous, written (not accumulated).
  virtual void conv_backward(const Tensor& grad_out, const Tensor& input, const Tensor& weight,
                             const Tensor& grad_input, const Tensor& grad_weight,
                             const Tensor& grad_bias, const ConvParams& p) = 0;

  // GroupNorm of x [N, C, *] contiguous over `groups` groups of channels, then per-channel
  // weight/bias [C] (either may be undefined), then SiLU when `silu`. mean/rstd [N, groups] in f32
  // (f64 for f64 input) are saved for backward.
  virtual void group_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                  int64_t groups, double eps, bool silu, const Tensor& out,
                                  const Tensor& mean, const Tensor& rstd) = 0;
  virtual void group_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                                   const Tensor& bias, const Tensor& mean, const Tensor& rstd,
                                   int64_t groups, bool silu, const Tensor& grad_x,
                                   const Tensor& grad_weight, const Tensor& grad_bias) = 0;
  // LayerNorm over the last dim D of x [B, L, D] contiguous (L may be 1), then weight/bias [D]
  // (either may be undefined), then the adaptive affine of AdaLN when scale/shift [B, D] are
  // defined: y = norm(x) * (1 + scale[b]) + shift[b]. mean/rstd [B, L] saved as for GroupNorm.
  virtual void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                  const Tensor& scale, const Tensor& shift, double eps,
                                  const Tensor& out, const Tensor& mean, const Tensor& rstd) = 0;
  // Gradients of layer_norm_forward; undefined outputs are not wanted.
  virtual void layer_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                                   const Tensor& bias, const Tensor& scale, const Tensor& shift,
                                   const Tensor& mean, const Tensor& rstd, const Tensor& grad_x,
                                   const Tensor& grad_weight, const Tensor& grad_bias,
                                   const Tensor& grad_scale, const Tensor& grad_shift) = 0;

  // Scaled dot-product attention, memory-efficient (online softmax, never the full Lq x Lk
  // matrix for long sequences). q [B, H, Lq, Dh], k and v [B, H, Lk, Dh], out [B, H, Lq, Dh], all
  // contiguous; lse [B, H, Lq] f32 (f64 for f64) is the log-sum-exp of each score row, saved so
  // backward can recompute the probabilities.
  virtual void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, double scale,
                                 const Tensor& out, const Tensor& lse) = 0;
  virtual void attention_backward(const Tensor& grad_out, const Tensor& q, const Tensor& k,
                                  const Tensor& v, const Tensor& out, const Tensor& lse,
                                  double scale, const Tensor& grad_q, const Tensor& grad_k,
                                  const Tensor& grad_v) = 0;

  // ---- optimizer kernels ----
  // One fused AdamW step (tensor/adamw.h) of every entry: p, g, m, v contiguous, one shape, one
  // dtype (f32 or f64) per entry, all on this device; p, m, v written in place.
  virtual void adamw_step(const std::vector<AdamWTensors>& params) = 0;
};

Backend& cpu_backend();
// The CUDA backend; raises a clear error when built without CUDA or when no device is usable.
Backend& cuda_backend();
Backend& backend(Device device);
// Whether a usable CUDA device exists (false when built without CUDA); never throws.
bool cuda_available();
int cuda_device_count();
// When on, the CPU allocator fills new memory with all-ones bytes (NaN for floats) so that tests
// catch kernels that leave output elements unwritten. Also set by TRIP_POISON_ALLOCATIONS.
bool poison_allocations();
void set_poison_allocations(bool on);

}  // namespace trip
