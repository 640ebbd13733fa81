// defines: the differentiable op API (namespace trip): the ops of trip::ops under the same names,
// recorded in the graph when grad mode is on and an input requires grad, plus readable names for
// the elementwise op enums and the arithmetic operators. Factories are re-exported so user code
// writes trip::zeros / trip::randn. Each op's forward and backward live together in
// autograd/<family>.cpp.
#pragma once
#include <array>
#include <optional>
#include <utility>
#include <vector>

#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace trip {

// ---- factories and other non-differentiable ops, re-exported (their results are leaves) ----
using ops::arange;
using ops::argmax;
using ops::default_generator;
using ops::full;
using ops::full_like;
using ops::Generator;
using ops::linspace;
using ops::manual_seed;
using ops::ones;
using ops::ones_like;
using ops::rand;
using ops::randn;
using ops::scalar_like;
using ops::uniform;
using ops::zeros;
using ops::zeros_like;

// ---- elementwise (autograd/elementwise.cpp) ----
Tensor unary(UnaryOp op, const Tensor& x, UnaryParams p = {});
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);  // comparisons: not differentiable
Tensor binary(BinaryOp op, const Tensor& a, double b);
Tensor binary(BinaryOp op, double a, const Tensor& b);

Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor silu(const Tensor& x);
Tensor gelu(const Tensor& x, bool tanh_approx = false);
Tensor relu(const Tensor& x);
Tensor square(const Tensor& x);
Tensor reciprocal(const Tensor& x);
Tensor pow(const Tensor& x, double exponent);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(double a, const Tensor& b);
Tensor clamp(const Tensor& x, double lo, double hi);
Tensor erf(const Tensor& x);
Tensor sign(const Tensor& x);  // gradient zero

#define TRIP_BINARY_FORMS(name)                  \
  Tensor name(const Tensor& a, const Tensor& b); \
  Tensor name(const Tensor& a, double b);        \
  Tensor name(double a, const Tensor& b);
TRIP_BINARY_FORMS(add)
TRIP_BINARY_FORMS(sub)
TRIP_BINARY_FORMS(mul)
TRIP_BINARY_FORMS(div)
TRIP_BINARY_FORMS(maximum)
TRIP_BINARY_FORMS(minimum)
// Comparisons give bool tensors and no gradient.
TRIP_BINARY_FORMS(eq)
TRIP_BINARY_FORMS(ne)
TRIP_BINARY_FORMS(lt)
TRIP_BINARY_FORMS(le)
TRIP_BINARY_FORMS(gt)
TRIP_BINARY_FORMS(ge)
#undef TRIP_BINARY_FORMS

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, double b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, double b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, double b);
Tensor operator/(double a, const Tensor& b);
Tensor operator-(const Tensor& x);

// ---- in-place (autograd/inplace.cpp): for optimizers and buffers, under NoGradGuard. They
// throw when grad mode is on and a tensor involved requires grad, because autograd does not
// track in-place changes (a gradient would silently be lost or wrong).
void fill_(const Tensor& t, double value);
void copy_(const Tensor& dst, const Tensor& src);
void add_(const Tensor& a, const Tensor& b, double alpha = 1.0);  // a += alpha * b
void mul_(const Tensor& a, const Tensor& b);
void mul_(const Tensor& a, double b);

// ---- reductions (autograd/reduce.cpp); empty dims = all dims ----
Tensor sum(const Tensor& t, const Dims& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& t, const Dims& dims = {}, bool keepdim = false);
Tensor amax(const Tensor& t, const Dims& dims = {}, bool keepdim = false);  // ties share the grad
Tensor amin(const Tensor& t, const Dims& dims = {}, bool keepdim = false);
// Values (differentiable: the gradient goes to the first extreme) and i64 indices.
std::pair<Tensor, Tensor> max(const Tensor& t, int64_t dim, bool keepdim = false);
std::pair<Tensor, Tensor> min(const Tensor& t, int64_t dim, bool keepdim = false);
Tensor var(const Tensor& t, const Dims& dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor std(const Tensor& t, const Dims& dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor norm(const Tensor& t, double p = 2.0, const Dims& dims = {}, bool keepdim = false);
Tensor sum_to(const Tensor& t, const Dims& shape);

// ---- softmax (autograd/softmax.cpp) ----
Tensor softmax(const Tensor& t, int64_t dim);
Tensor log_softmax(const Tensor& t, int64_t dim);

// ---- matmul (autograd/matmul.cpp): NumPy semantics (1-d operands, broadcast batch dims) ----
Tensor matmul(const Tensor& a, const Tensor& b);

// ---- views and layout (autograd/views.cpp); all differentiable ----
Tensor view(const Tensor& t, Dims shape);
Tensor reshape(const Tensor& t, Dims shape);
Tensor permute(const Tensor& t, const Dims& dims);
Tensor transpose(const Tensor& t, int64_t dim0, int64_t dim1);
Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length);
Tensor slice(const Tensor& t, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
Tensor select(const Tensor& t, int64_t dim, int64_t index);
Tensor expand(const Tensor& t, const Dims& shape);
Tensor squeeze(const Tensor& t);
Tensor squeeze(const Tensor& t, int64_t dim);
Tensor unsqueeze(const Tensor& t, int64_t dim);
Tensor flatten(const Tensor& t, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor contiguous(const Tensor& t);
Tensor clone(const Tensor& t);
Tensor to(const Tensor& t, Device device);
Tensor to(const Tensor& t, DType dtype);  // to an integer dtype: not differentiable

// ---- joining, splitting, indexing (autograd/index.cpp) ----
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim);
std::vector<Tensor> split(const Tensor& t, int64_t split_size, int64_t dim);
std::vector<Tensor> chunk(const Tensor& t, int64_t chunks, int64_t dim);
Tensor index_select(const Tensor& t, int64_t dim, const Tensor& index);
Tensor gather(const Tensor& t, int64_t dim, const Tensor& index);
Tensor scatter_add(const Tensor& t, int64_t dim, const Tensor& index, const Tensor& src);
Tensor pad(const Tensor& t, const std::vector<int64_t>& pads, double value = 0.0);
Tensor repeat(const Tensor& t, const Dims& repeats);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor masked_fill(const Tensor& t, const Tensor& mask, double value);

// ---- layers (autograd/conv.cpp, autograd/norm.cpp, autograd/attention.cpp) ----
// PyTorch's F.conv1d/2d/3d: weight [C_out, C_in / groups, *kernel], bias undefined for none.
Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
              int64_t stride = 1, int64_t padding = 0, int64_t dilation = 1, int64_t groups = 1);
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
              std::array<int64_t, 2> stride = {1, 1}, std::array<int64_t, 2> padding = {0, 0},
              std::array<int64_t, 2> dilation = {1, 1}, int64_t groups = 1);
Tensor conv3d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
              std::array<int64_t, 3> stride = {1, 1, 1}, std::array<int64_t, 3> padding = {0, 0, 0},
              std::array<int64_t, 3> dilation = {1, 1, 1}, int64_t groups = 1);
// F.group_norm, optionally fused with the SiLU that follows it in every ResNet block.
Tensor group_norm(const Tensor& x, int64_t groups, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5, bool silu = false);
// F.layer_norm over the last dim.
Tensor layer_norm(const Tensor& x, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                  double eps = 1e-5);
// Adaptive LayerNorm: layer_norm(x) * (1 + scale) + shift, scale/shift [B, D] per sample.
Tensor ada_layer_norm(const Tensor& x, const Tensor& scale, const Tensor& shift,
                      const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                      double eps = 1e-5);
// F.scaled_dot_product_attention without mask: q [B, H, Lq, Dh], k/v [B, H, Lk, Dh];
// scale defaults to 1/sqrt(Dh).
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    std::optional<double> scale = std::nullopt);

}  // namespace trip
