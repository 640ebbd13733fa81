// defines: the launchers behind CudaBackend (tensor/cuda/backend.cu), one group per .cu file.
// Each takes tensors already validated and laid out by the op layer (see tensor/backend.h for
// the contract of each), makes the tensors' device current, and queues its kernels on the
// default stream.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/backend.h"
#include "tensor/op_kinds.h"
#include "tensor/tensor.h"

namespace trip::gpu {

// copy.cu
void copy(const Tensor& src, const Tensor& dst);
// dst = src for raw device pointers (first elements) with strides in elements; the current
// device must be the one holding both. Used for scratch copies (matmul operands).
void copy_strided(DType src_dtype, const void* src, const Dims& src_strides, DType dst_dtype,
                  void* dst, const Dims& dst_strides, const Dims& shape);
void transfer(const Tensor& src, const Tensor& dst);
void fill(const Tensor& dst, double value);

// unary.cu
void unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryParams p);
void unary_backward(UnaryOp op, const Tensor& x, const Tensor& grad_out, const Tensor& grad_x,
                    UnaryParams p);

// binary.cu
void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out);
void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);

// reduce.cu
void reduce(ReduceOp op, const Tensor& in, const Tensor& out, ReduceGeometry g);
void arg_reduce(bool is_max, const Tensor& in, const Tensor& values, const Tensor& indices,
                ReduceGeometry g);

// softmax.cu
void softmax(const Tensor& in, const Tensor& out, ReduceGeometry g, bool log);

// matmul.cu
void matmul(const Tensor& a, const Tensor& b, const Tensor& out);

// random.cu
void random(RandomKind kind, const Tensor& out, uint64_t seed, uint64_t offset, double a, double b);

// index.cu
void index_select(const Tensor& in, int dim, const Tensor& index, const Tensor& out);
void gather(const Tensor& in, int dim, const Tensor& index, const Tensor& out);
void scatter_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src);

// Layer kernels (tensor/backend.h documents them): conv.{cpp,cu}, norm.{cpp,cu},
// attention.{cpp,cu}.
void conv_forward(const Tensor& input, const Tensor& weight, const Tensor& bias, const Tensor& out,
                  const ConvParams& p);
void conv_backward(const Tensor& grad_out, const Tensor& input, const Tensor& weight,
                   const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias,
                   const ConvParams& p);
void group_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t groups,
                        double eps, bool silu, const Tensor& out, const Tensor& mean,
                        const Tensor& rstd);
void group_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                         const Tensor& bias, const Tensor& mean, const Tensor& rstd, int64_t groups,
                         bool silu, const Tensor& grad_x, const Tensor& grad_weight,
                         const Tensor& grad_bias);
void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const Tensor& scale, const Tensor& shift, double eps, const Tensor& out,
                        const Tensor& mean, const Tensor& rstd);
void layer_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                         const Tensor& bias, const Tensor& scale, const Tensor& shift,
                         const Tensor& mean, const Tensor& rstd, const Tensor& grad_x,
                         const Tensor& grad_weight, const Tensor& grad_bias,
                         const Tensor& grad_scale, const Tensor& grad_shift);
void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, double scale,
                       const Tensor& out, const Tensor& lse);
void attention_backward(const Tensor& grad_out, const Tensor& q, const Tensor& k, const Tensor& v,
                        const Tensor& out, const Tensor& lse, double scale, const Tensor& grad_q,
                        const Tensor& grad_k, const Tensor& grad_v);

// attention_cudnn.cu: cuDNN's fused attention, when ops::attention_backend() is cudnn. Each
// returns false, having done nothing, where cuDNN does not apply (dtype, shape, alignment, no
// engine); CudaBackend then runs attention_forward/backward above.
bool cudnn_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, double scale,
                             const Tensor& out, const Tensor& lse);
bool cudnn_attention_backward(const Tensor& grad_out, const Tensor& q, const Tensor& k,
                              const Tensor& v, const Tensor& out, const Tensor& lse, double scale,
                              const Tensor& grad_q, const Tensor& grad_k, const Tensor& grad_v);

// adamw.cu: the multi-tensor AdamW step (tensor/adamw.h).
void adamw_step(const std::vector<AdamWTensors>& params);

}  // namespace trip::gpu
