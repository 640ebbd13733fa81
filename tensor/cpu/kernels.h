// defines: the CPU kernel entry points, one per Backend method (tensor/backend.h documents the
// layouts they receive). tensor/cpu/backend.cpp binds them into the CPU Backend.
#pragma once
#include "tensor/backend.h"

namespace trip::cpu {

void copy(const Tensor& src, const Tensor& dst);
void fill(const Tensor& dst, double value);
void unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryParams p);
void unary_backward(UnaryOp op, const Tensor& x, const Tensor& grad_out, const Tensor& grad_x,
                    UnaryParams p);
void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out);
void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);
void reduce(ReduceOp op, const Tensor& in, const Tensor& out, ReduceGeometry g);
void arg_reduce(bool is_max, const Tensor& in, const Tensor& values, const Tensor& indices,
                ReduceGeometry g);
void softmax(const Tensor& in, const Tensor& out, ReduceGeometry g, bool log);
void matmul(const Tensor& a, const Tensor& b, const Tensor& out);
void random(RandomKind kind, const Tensor& out, uint64_t seed, uint64_t offset, double a, double b);
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

// adamw.cpp
void adamw_step(const std::vector<AdamWTensors>& params);

}  // namespace trip::cpu
