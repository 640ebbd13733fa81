// Elementwise ops: forward with trip::ops, backward formula beside it. Unary derivatives come
// from the tensor layer's unary_backward kernel (grad * op'(x) in one pass, the same formula on
// CPU and CUDA); binary ops broadcast, and the engine sums their gradients back to each input's
// shape.
#include <cctype>
#include <string>

#include "autograd/functions.h"
#include "autograd/record.h"

namespace trip {

// "gelu_tanh" -> "GeluTanhBackward".
static std::string backward_name(const char* op) {
  std::string name;
  bool upper = true;
  for (const char* c = op; *c; ++c) {
    if (*c == '_') {
      upper = true;
      continue;
    }
    name += upper ? char(std::toupper(static_cast<unsigned char>(*c))) : *c;
    upper = false;
  }
  return name + "Backward";
}

// ---- unary ----

Tensor unary(UnaryOp op, const Tensor& x, UnaryParams p) {
  Tensor out = ops::unary(op, x, p);
  if (!should_record({x})) return out;
  return record(backward_name(op_name(op)), out, {x}, [op, p, x = save(x)](const Tensor& g) {
    return Grads{ops::unary_backward(op, x.get(), g, p)};
  });
}

Tensor neg(const Tensor& x) { return unary(UnaryOp::neg, x); }
Tensor abs(const Tensor& x) { return unary(UnaryOp::abs, x); }
Tensor exp(const Tensor& x) { return unary(UnaryOp::exp, x); }
Tensor log(const Tensor& x) { return unary(UnaryOp::log, x); }
Tensor sqrt(const Tensor& x) { return unary(UnaryOp::sqrt, x); }
Tensor rsqrt(const Tensor& x) { return unary(UnaryOp::rsqrt, x); }
Tensor sin(const Tensor& x) { return unary(UnaryOp::sin, x); }
Tensor cos(const Tensor& x) { return unary(UnaryOp::cos, x); }
Tensor tanh(const Tensor& x) { return unary(UnaryOp::tanh, x); }
Tensor sigmoid(const Tensor& x) { return unary(UnaryOp::sigmoid, x); }
Tensor silu(const Tensor& x) { return unary(UnaryOp::silu, x); }
Tensor gelu(const Tensor& x, bool tanh_approx) {
  return unary(tanh_approx ? UnaryOp::gelu_tanh : UnaryOp::gelu_erf, x);
}
Tensor relu(const Tensor& x) { return unary(UnaryOp::relu, x); }
Tensor square(const Tensor& x) { return unary(UnaryOp::square, x); }
Tensor reciprocal(const Tensor& x) { return unary(UnaryOp::reciprocal, x); }
Tensor pow(const Tensor& x, double exponent) {
  return unary(UnaryOp::pow_scalar, x, {exponent, 0});
}
Tensor clamp(const Tensor& x, double lo, double hi) { return unary(UnaryOp::clamp, x, {lo, hi}); }
Tensor erf(const Tensor& x) { return unary(UnaryOp::erf, x); }
Tensor sign(const Tensor& x) { return unary(UnaryOp::sign, x); }

// ---- binary ----
// Each formula computes a gradient only for the inputs that need one (the `need` flags):
// the input of a linear layer, say, never does.

static Tensor add_op(const Tensor& a, const Tensor& b) {
  return record("AddBackward", ops::binary(BinaryOp::add, a, b), {a, b}, [](const Tensor& g) {
    return Grads{g, g};
  });
}

static Tensor sub_op(const Tensor& a, const Tensor& b) {
  return record("SubBackward", ops::binary(BinaryOp::sub, a, b), {a, b},
                [need_b = b.requires_grad()](const Tensor& g) {
                  return Grads{g, need_b ? -g : Tensor()};
                });
}

static Tensor mul_op(const Tensor& a, const Tensor& b) {
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return record("MulBackward", ops::binary(BinaryOp::mul, a, b), {a, b},
                [need_a, need_b, a = save(a), b = save(b)](const Tensor& g) {
                  return Grads{need_a ? g * b.get() : Tensor(), need_b ? g * a.get() : Tensor()};
                });
}

static Tensor div_op(const Tensor& a, const Tensor& b) {
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return record(
      "DivBackward", ops::binary(BinaryOp::div, a, b), {a, b},
      [need_a, need_b, a = save(a), b = save(b)](const Tensor& g) {
        Tensor bv = b.get();
        // d(a/b)/db = -a / b^2
        return Grads{need_a ? g / bv : Tensor(), need_b ? -(g * a.get()) / square(bv) : Tensor()};
      });
}

// maximum/minimum: the gradient goes to the selected input; ties split it evenly (as PyTorch),
// which keeps maximum(x, x) == x exact.
static Tensor extreme_op(BinaryOp op, const Tensor& a, const Tensor& b) {
  bool is_max = op == BinaryOp::maximum;
  return record(is_max ? "MaximumBackward" : "MinimumBackward", ops::binary(op, a, b), {a, b},
                [is_max, a = save(a), b = save(b)](const Tensor& g) {
                  Tensor av = a.get(), bv = b.get();
                  Tensor wins = is_max ? gt(av, bv) : lt(av, bv);
                  Tensor weight_a = to(wins, g.dtype()) + 0.5 * to(eq(av, bv), g.dtype());
                  return Grads{g * weight_a, g * (1.0 - weight_a)};
                });
}

static Tensor pow_op(const Tensor& a, const Tensor& b) {
  Tensor out = ops::binary(BinaryOp::pow, a, b);
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return record("PowBackward", out, {a, b},
                [need_a, need_b, a = save(a), b = save(b), out = save(out)](const Tensor& g) {
                  Tensor av = a.get(), bv = b.get();
                  Tensor ga, gb;
                  if (need_a) ga = g * bv * pow(av, bv - 1.0);  // b a^(b-1)
                  // a^b log a; taken as 0 at a == 0, where a^b is flat in b for b > 0
                  if (need_b) gb = where(eq(av, 0.0), zeros_like(g), g * out.get() * log(av));
                  return Grads{ga, gb};
                });
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  switch (op) {
    case BinaryOp::add:
      return add_op(a, b);
    case BinaryOp::sub:
      return sub_op(a, b);
    case BinaryOp::mul:
      return mul_op(a, b);
    case BinaryOp::div:
      return div_op(a, b);
    case BinaryOp::maximum:
    case BinaryOp::minimum:
      return extreme_op(op, a, b);
    case BinaryOp::pow:
      return pow_op(a, b);
    default:
      return ops::binary(op, a, b);  // comparisons: bool result, no gradient
  }
}
// A scalar operand is a 0-d tensor that does not require grad; it broadcasts like any other.
Tensor binary(BinaryOp op, const Tensor& a, double b) { return binary(op, a, scalar_like(b, a)); }
Tensor binary(BinaryOp op, double a, const Tensor& b) { return binary(op, scalar_like(a, b), b); }

#define TRIP_BINARY_FORMS(name, op)                                                    \
  Tensor name(const Tensor& a, const Tensor& b) { return binary(BinaryOp::op, a, b); } \
  Tensor name(const Tensor& a, double b) { return binary(BinaryOp::op, a, b); }        \
  Tensor name(double a, const Tensor& b) { return binary(BinaryOp::op, a, b); }
TRIP_BINARY_FORMS(add, add)
TRIP_BINARY_FORMS(sub, sub)
TRIP_BINARY_FORMS(mul, mul)
TRIP_BINARY_FORMS(div, div)
TRIP_BINARY_FORMS(maximum, maximum)
TRIP_BINARY_FORMS(minimum, minimum)
TRIP_BINARY_FORMS(eq, eq)
TRIP_BINARY_FORMS(ne, ne)
TRIP_BINARY_FORMS(lt, lt)
TRIP_BINARY_FORMS(le, le)
TRIP_BINARY_FORMS(gt, gt)
TRIP_BINARY_FORMS(ge, ge)
#undef TRIP_BINARY_FORMS
Tensor pow(const Tensor& a, const Tensor& b) { return binary(BinaryOp::pow, a, b); }
Tensor pow(double a, const Tensor& b) { return binary(BinaryOp::pow, a, b); }
// pow(Tensor, double) is the unary pow_scalar above: one kernel for the derivative.

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator+(const Tensor& a, double b) { return add(a, b); }
Tensor operator+(double a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
Tensor operator-(double a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
Tensor operator*(double a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator/(const Tensor& a, double b) { return div(a, b); }
Tensor operator/(double a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }

}  // namespace trip
