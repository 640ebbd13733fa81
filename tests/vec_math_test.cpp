// The CPU's vectorisable float approximations (tensor/cpu/vec_math.h) against libm in double.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "tensor/cpu/vec_math.h"
#include "tensor/ops.h"
#include "tests/test_compare.h"

using namespace trip;

namespace {

// Values from -range to range, denser near 0, plus the special ones.
std::vector<float> sweep(float range) {
  std::vector<float> xs = {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-7f, -1e-7f};
  for (int i = 1; i <= 20000; ++i) {
    float t = float(i) / 20000.0f;
    xs.push_back(range * t * t * t);
    xs.push_back(-range * t * t * t);
  }
  return xs;
}

// Largest error of f against ref, relative to max(|ref|, floor, x_floor * |x|).
// f is a lambda, never a pointer to an always_inline function: at -O1 (the sanitizer build) GCC
// cannot inline a call through a pointer and stops with an error.
template <typename F, typename R>
double max_error(F f, R ref, float range, double floor, double x_floor = 0) {
  double worst = 0;
  for (float x : sweep(range)) {
    double want = ref(double(x)), got = double(f(x));
    double scale = std::max({std::abs(want), floor, x_floor * std::abs(double(x))});
    double err = std::abs(got - want) / scale;
    worst = test::worse(worst, err);
  }
  return worst;
}

constexpr double kUlp = 5.96e-8;  // 2^-24

}  // namespace

TEST_CASE("vec_math: exp") {
  CHECK(max_error([](float x) { return cpu::exp_approx(x); }, [](double x) { return std::exp(x); },
                  87.0f, 1e-300) < 4 * kUlp);
  CHECK(cpu::exp_approx(-200.0f) == 0.0f);
  CHECK(std::isinf(cpu::exp_approx(100.0f)));
  CHECK(std::isnan(cpu::exp_approx(std::numeric_limits<float>::quiet_NaN())));
  CHECK(cpu::exp_approx(-std::numeric_limits<float>::infinity()) == 0.0f);
  // Subnormal results keep their relative accuracy down to ~1e-40.
  CHECK(cpu::exp_approx(-92.0f) == doctest::Approx(std::exp(-92.0)).epsilon(1e-5));
}

TEST_CASE("vec_math: tanh and erf") {
  CHECK(max_error([](float x) { return cpu::tanh_approx(x); },
                  [](double x) { return std::tanh(x); }, 20.0f, 1e-300) < 6 * kUlp);
  CHECK(max_error([](float x) { return cpu::erf_approx(x); }, [](double x) { return std::erf(x); },
                  10.0f, 1e-300) < 6 * kUlp);
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(cpu::tanh_approx(inf) == 1.0f);
  CHECK(cpu::tanh_approx(-inf) == -1.0f);
  CHECK(cpu::erf_approx(inf) == 1.0f);
  CHECK(cpu::erf_approx(-inf) == -1.0f);
  CHECK(std::isnan(cpu::tanh_approx(std::nanf(""))));
  CHECK(std::isnan(cpu::erf_approx(std::nanf(""))));
}

TEST_CASE("vec_math: activations agree with the shared formulas") {
  auto sigmoid = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
  auto gelu = [](double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); };
  auto gelu_tanh = [](double x) {
    return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
  };
  auto fast = [](auto op) {
    return [](float x) { return cpu::fast_unary<decltype(op)::value>(x, 0.0f, 0.0f); };
  };
  using U = UnaryOp;
  CHECK(max_error(fast(std::integral_constant<U, U::sigmoid>{}), sigmoid, 80.0f, 1e-300) <
        6 * kUlp);
  CHECK(max_error(
            fast(std::integral_constant<U, U::silu>{}), [&](double x) { return x * sigmoid(x); },
            80.0f, 1e-300) < 6 * kUlp);
  // The GELUs cancel in 1 + erf(.) and 1 + tanh(.) for x << 0, as PyTorch's float formulas do:
  // there the error is a few ulp of |x|, not of the tiny result.
  CHECK(max_error(fast(std::integral_constant<U, U::gelu_erf>{}), gelu, 10.0f, 1e-30, 1.0) <
        8 * kUlp);
  CHECK(max_error(fast(std::integral_constant<U, U::gelu_tanh>{}), gelu_tanh, 10.0f, 1e-30, 1.0) <
        8 * kUlp);
}

TEST_CASE("vec_math: activation gradients are as accurate as the libm float formulas") {
  auto sigmoid = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
  auto pdf = [](double x) { return std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI); };
  auto cdf = [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); };
  const double c = std::sqrt(2.0 / M_PI), k = 0.044715;
  auto gelu_tanh_grad = [&](double x) {
    double t = std::tanh(c * (x + k * x * x * x));
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * c * (1.0 + 3 * k * x * x);
  };
  // Absolute errors (floor 1: these derivatives are O(1) and cross 0, and the float formulas
  // cancel in 1 - t^2, 1 - s, 1 + erf near saturation) of the fast gradient and of the shared
  // formula in float with libm; g = 1.5 scales both, so a wrong use of g fails too.
  auto check = [&](auto op, auto ref, float range) {
    constexpr UnaryOp Op = decltype(op)::value;
    auto fast = [](float x) { return cpu::fast_unary_grad<Op>(x, 1.5f, 0.0f, 0.0f) / 1.5f; };
    auto libm = [](float x) { return math::unary_grad<Op, float>(x, 1.5f, 0.0f, 0.0f) / 1.5f; };
    const double fast_err = max_error(fast, ref, range, 1.0);
    const double libm_err = max_error(libm, ref, range, 1.0);
    INFO(op_name(Op), ": fast ", fast_err, ", libm ", libm_err);
    CHECK(fast_err <= 2 * libm_err + 4 * kUlp);
  };
  using U = UnaryOp;
  check(
      std::integral_constant<U, U::sigmoid>{},
      [&](double x) { return sigmoid(x) * (1 - sigmoid(x)); }, 80.0f);
  check(
      std::integral_constant<U, U::tanh>{},
      [](double x) { return 1 - std::tanh(x) * std::tanh(x); }, 9.0f);
  check(
      std::integral_constant<U, U::silu>{},
      [&](double x) { return sigmoid(x) * (1 + x * (1 - sigmoid(x))); }, 80.0f);
  check(
      std::integral_constant<U, U::gelu_erf>{}, [&](double x) { return cdf(x) + x * pdf(x); },
      10.0f);
  check(std::integral_constant<U, U::gelu_tanh>{}, gelu_tanh_grad, 10.0f);
  check(
      std::integral_constant<U, U::erf>{},
      [](double x) { return 2 / std::sqrt(M_PI) * std::exp(-x * x); }, 9.0f);
  // exp relative to its value (its range is not O(1)).
  CHECK(max_error([](float x) { return cpu::fast_unary_grad<U::exp>(x, 1.5f, 0.0f, 0.0f) / 1.5f; },
                  [](double x) { return std::exp(x); }, 80.0f, 1e-300) < 8 * kUlp);
  // NaN stays NaN.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK(std::isnan(cpu::fast_unary_grad<U::gelu_erf>(nan, 1.0f, 0.0f, 0.0f)));
  CHECK(std::isnan(cpu::fast_unary_grad<U::silu>(nan, 1.0f, 0.0f, 0.0f)));
}

TEST_CASE("unary_backward f32: the vectorised contiguous path matches the strided libm path") {
  ops::Generator gen{5, 0};
  const Tensor x = ops::binary(BinaryOp::mul, ops::randn({37, 29}, DType::f32, &gen), 3.0);
  const Tensor g = ops::randn({37, 29}, DType::f32, &gen);
  // The same values with a non-unit inner stride: the scalar loop.
  auto strided = [](const Tensor& t) {
    return ops::transpose(ops::contiguous(ops::transpose(t, 0, 1)), 0, 1);
  };
  for (UnaryOp op : {UnaryOp::exp, UnaryOp::tanh, UnaryOp::sigmoid, UnaryOp::silu,
                     UnaryOp::gelu_erf, UnaryOp::gelu_tanh, UnaryOp::erf, UnaryOp::square}) {
    INFO(std::string(op_name(op)));
    const std::vector<float> fast = ops::unary_backward(op, x, g).to_vector<float>();
    const std::vector<float> slow =
        ops::contiguous(ops::unary_backward(op, strided(x), strided(g))).to_vector<float>();
    REQUIRE(fast.size() == slow.size());
    double worst = 0;
    for (size_t i = 0; i < fast.size(); ++i)
      worst = test::worse(worst, std::abs(double(fast[i]) - slow[i]) / (1.0 + std::abs(slow[i])));
    CHECK(worst < 1e-5);  // two float formulas (each checked against double above)
  }
}
