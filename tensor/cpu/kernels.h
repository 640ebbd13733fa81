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

}  // namespace trip::cpu
