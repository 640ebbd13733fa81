// The CPU's vectorisable float approximations (tensor/cpu/vec_math.h) against libm in double.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "tensor/cpu/vec_math.h"

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
template <typename F, typename R>
double max_error(F f, R ref, float range, double floor, double x_floor = 0) {
  double worst = 0;
  for (float x : sweep(range)) {
    double want = ref(double(x)), got = double(f(x));
    double scale = std::max({std::abs(want), floor, x_floor * std::abs(double(x))});
    double err = std::abs(got - want) / scale;
    worst = std::max(worst, err);
  }
  return worst;
}

constexpr double kUlp = 5.96e-8;  // 2^-24

}  // namespace

TEST_CASE("vec_math: exp") {
  CHECK(max_error(
            cpu::exp_approx, [](double x) { return std::exp(x); }, 87.0f, 1e-300) < 4 * kUlp);
  CHECK(cpu::exp_approx(-200.0f) == 0.0f);
  CHECK(std::isinf(cpu::exp_approx(100.0f)));
  CHECK(std::isnan(cpu::exp_approx(std::numeric_limits<float>::quiet_NaN())));
  CHECK(cpu::exp_approx(-std::numeric_limits<float>::infinity()) == 0.0f);
  // Subnormal results keep their relative accuracy down to ~1e-40.
  CHECK(cpu::exp_approx(-92.0f) == doctest::Approx(std::exp(-92.0)).epsilon(1e-5));
}

TEST_CASE("vec_math: tanh and erf") {
  CHECK(max_error(
            cpu::tanh_approx, [](double x) { return std::tanh(x); }, 20.0f, 1e-300) < 6 * kUlp);
  CHECK(max_error(
            cpu::erf_approx, [](double x) { return std::erf(x); }, 10.0f, 1e-300) < 6 * kUlp);
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
