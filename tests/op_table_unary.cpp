// The op table: unary elementwise ops (every UnaryOp). Integer inputs of the ops that need
// floating values are computed in f32, as the op layer documents.
#include <cmath>

#include "tensor/elementwise_math.h"
#include "tests/op_table_ref.h"

namespace trip::optest {

namespace {

// The standard unary cases: odd sizes, 0-d, size-1 dims, empty, a 5-d video shape, special
// values (forward only) and one large enough to split across threads.
std::vector<Case> unary_cases(Domain d) {
  return {
      {"7x13", {in({7, 13}, d)}},
      {"0-d", {in({}, d)}},
      {"1x5x1", {in({1, 5, 1}, d)}},
      {"0x3", {in({0, 3}, d)}},
      {"video 2x3x4x5x6", {in({2, 3, 4, 5, 6}, d)}},
      {"specials", {in({2, 9}, Domain::special)}, {}, /*grad=*/false},
      {"100003", {in({100003}, d)}},
  };
}

// A unary op computed by `f` on the host; needs_floating: integer inputs give f32 results.
OpInfo unary(std::string name, std::function<Tensor(const Tensor&)> f,
             std::function<double(double)> r, Domain d = Domain::normal,
             std::vector<double> kinks = {0.0}, bool integer_stays_integer = false) {
  OpInfo op;
  op.name = std::move(name);
  op.fn = [f](const std::vector<Tensor>& x, const Args&) { return std::vector<Tensor>{f(x[0])}; };
  op.ref = [r](const std::vector<Host>& x, const Args&) {
    return std::vector<Host>{ref::map(x[0], r)};
  };
  op.cases = unary_cases(d);
  op.dtypes = kAllTypes;
  op.kinks = std::move(kinks);
  op.out_dtype = [integer_stays_integer](DType t, int) {
    return is_floating(t) || integer_stays_integer ? t : DType::f32;
  };
  return op;
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

OpInfo with_errors(OpInfo op, std::vector<BadInput> errors) {
  op.errors = std::move(errors);
  return op;
}

BadInput rejects_bool(std::function<Tensor(const Tensor&)> f, const char* name) {
  return {"bool input", [f] { f(ops::ones({3}, DType::boolean)); },
          std::string(name) + ": not defined for bool tensors"};
}

}  // namespace

std::vector<OpInfo> unary_ops() {
  using std::function;
  constexpr Domain normal = Domain::normal, positive = Domain::positive, smooth = Domain::smooth;
  constexpr bool keeps_int = true;
  std::vector<OpInfo> ops = {
      with_errors(unary(
                      "neg", [](const Tensor& x) { return trip::neg(x); },
                      [](double x) { return -x; }, normal, {0.0}, keeps_int),
                  {rejects_bool([](const Tensor& x) { return trip::neg(x); }, "neg")}),
      with_errors(unary(
                      "abs", [](const Tensor& x) { return trip::abs(x); },
                      [](double x) { return std::fabs(x); }, smooth, {0.0}, keeps_int),
                  {rejects_bool([](const Tensor& x) { return trip::abs(x); }, "abs")}),
      unary(
          "exp", [](const Tensor& x) { return trip::exp(x); },
          [](double x) { return std::exp(x); }),
      unary(
          "log", [](const Tensor& x) { return trip::log(x); }, [](double x) { return std::log(x); },
          positive),
      unary(
          "sqrt", [](const Tensor& x) { return trip::sqrt(x); },
          [](double x) { return std::sqrt(x); }, positive),
      unary(
          "rsqrt", [](const Tensor& x) { return trip::rsqrt(x); },
          [](double x) { return 1.0 / std::sqrt(x); }, positive),
      unary(
          "sin", [](const Tensor& x) { return trip::sin(x); },
          [](double x) { return std::sin(x); }),
      unary(
          "cos", [](const Tensor& x) { return trip::cos(x); },
          [](double x) { return std::cos(x); }),
      unary(
          "tanh", [](const Tensor& x) { return trip::tanh(x); },
          [](double x) { return std::tanh(x); }),
      unary(
          "sigmoid", [](const Tensor& x) { return trip::sigmoid(x); }, sigmoid),
      unary(
          "silu", [](const Tensor& x) { return trip::silu(x); },
          [](double x) { return x * sigmoid(x); }),
      unary(
          "gelu_erf", [](const Tensor& x) { return trip::gelu(x, false); },
          [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }),
      unary(
          "gelu_tanh", [](const Tensor& x) { return trip::gelu(x, true); },
          [](double x) {
            double inner = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
            return 0.5 * x * (1 + std::tanh(inner));
          }),
      with_errors(unary(
                      "relu", [](const Tensor& x) { return trip::relu(x); },
                      // NaN propagates, as in PyTorch.
                      [](double x) { return std::isnan(x) ? x : (x > 0 ? x : 0.0); }, smooth, {0.0},
                      keeps_int),
                  {rejects_bool([](const Tensor& x) { return trip::relu(x); }, "relu")}),
      unary(
          "square", [](const Tensor& x) { return trip::square(x); }, [](double x) { return x * x; },
          normal, {0.0}, keeps_int),
      unary(
          "reciprocal", [](const Tensor& x) { return trip::reciprocal(x); },
          [](double x) { return 1.0 / x; }, smooth),
      unary(
          "pow_scalar(2.5)", [](const Tensor& x) { return trip::pow(x, 2.5); },
          [](double x) { return std::pow(x, 2.5); }, positive),
      unary(
          "pow_scalar(-1.5)", [](const Tensor& x) { return trip::pow(x, -1.5); },
          [](double x) { return std::pow(x, -1.5); }, positive),
      unary(
          "pow_scalar(3)", [](const Tensor& x) { return trip::pow(x, 3.0); },
          [](double x) { return std::pow(x, 3.0); }),
      unary(
          "pow_scalar(0)", [](const Tensor& x) { return trip::pow(x, 0.0); },
          [](double) { return 1.0; }),
      unary(
          "clamp(-0.5,0.5)", [](const Tensor& x) { return trip::clamp(x, -0.5, 0.5); },
          [](double x) { return std::isnan(x) ? x : std::clamp(x, -0.5, 0.5); }, smooth,
          {-0.5, 0.5}),
      unary(
          "clamp(-2,3)", [](const Tensor& x) { return trip::clamp(x, -2, 3); },
          [](double x) { return std::isnan(x) ? x : std::clamp(x, -2.0, 3.0); }, smooth,
          {-2.0, 3.0}, keeps_int),
      unary(
          "erf", [](const Tensor& x) { return trip::erf(x); },
          [](double x) { return std::erf(x); }),
      unary(
          "sign", [](const Tensor& x) { return trip::sign(x); },
          // NaN gives 0, as the shared formula (x > 0) - (x < 0) says.
          [](double x) { return double((x > 0) - (x < 0)); }, smooth, {0.0}, keeps_int),
      // The generic entry point, with its parameters.
      unary(
          "unary(pow_scalar, 0.5)",
          [](const Tensor& x) {
            return trip::unary(UnaryOp::pow_scalar, x, {0.5, 0});
          },
          [](double x) { return std::pow(x, 0.5); }, positive),
  };
  // clamp and relu keep the dtype of integer inputs; the float-only clamp is for floats only.
  for (OpInfo& op : ops)
    if (op.name == "clamp(-0.5,0.5)") op.dtypes = kFloating;
  // Half-precision transcendental results go through float math and one rounding; erf and the
  // GELUs use float libm. A little more room for the composite formulas.
  for (OpInfo& op : ops)
    if (op.name.rfind("gelu", 0) == 0 || op.name == "silu") op.tol_scale = 2;
  return ops;
}

}  // namespace trip::optest
