// Check (f): the random number generators. rand/randn/uniform are reproducible for a seed,
// differ between seeds, follow the documented Philox counter layout (element i of a draw uses
// block offset + i / 4, and each draw advances the generator by whole blocks), have the right
// distribution (1e6 samples: mean and variance within 5 standard errors), stay in [0, 1) in every
// floating dtype, and give the same numbers on CUDA as on the CPU.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "tensor/backend.h"
#include "tensor/ops.h"
#include "tests/test_compare.h"

using namespace trip;

namespace {

struct Moments {
  double mean = 0, var = 0, min = INFINITY, max = -INFINITY;
};

Moments moments(const std::vector<double>& v) {
  Moments m;
  for (double x : v) {
    m.mean += x;
    m.min = std::min(m.min, x);
    m.max = std::max(m.max, x);
  }
  m.mean /= double(v.size());
  for (double x : v) m.var += (x - m.mean) * (x - m.mean);
  m.var /= double(v.size() - 1);
  return m;
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  Tensor x = ops::contiguous(ops::to(a, kCPU)), y = ops::contiguous(ops::to(b, kCPU));
  return x.dtype() == y.dtype() && x.shape() == y.shape() &&
         std::memcmp(x.data_ptr(), y.data_ptr(), x.nbytes()) == 0;
}

}  // namespace

TEST_CASE("rand and randn are reproducible for a seed and differ between seeds") {
  for (DType dtype : {DType::f32, DType::f64, DType::bf16, DType::f16}) {
    INFO(dtype_name(dtype));
    ops::Generator g1{42, 0}, g2{42, 0}, g3{43, 0};
    CHECK(bitwise_equal(ops::rand({1000}, dtype, &g1), ops::rand({1000}, dtype, &g2)));
    CHECK(bitwise_equal(ops::randn({1000}, dtype, &g1), ops::randn({1000}, dtype, &g2)));
    std::vector<double> a = ops::rand({1000}, dtype, &g1).to_vector<double>();
    std::vector<double> b = ops::rand({1000}, dtype, &g3).to_vector<double>();
    int same = 0;
    for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
    CHECK(same < 50);  // 16-bit dtypes collide now and then; different seeds mostly differ
    // Successive draws from one generator differ.
    CHECK(!bitwise_equal(ops::randn({1000}, dtype, &g1), ops::randn({1000}, dtype, &g1)));
  }
  // The default generator follows manual_seed.
  ops::manual_seed(7);
  Tensor x = ops::randn({100});
  ops::manual_seed(7);
  CHECK(bitwise_equal(x, ops::randn({100})));
}

TEST_CASE("draws follow the Philox counter layout") {
  ops::Generator whole{5, 0};
  std::vector<float> all = ops::rand({16}, DType::f32, &whole).to_vector<float>();
  CHECK(whole.offset == 4);
  ops::Generator parts{5, 0};
  std::vector<float> first = ops::rand({5}, DType::f32, &parts).to_vector<float>();
  CHECK(parts.offset == 2);  // 5 numbers take 2 blocks of 4
  std::vector<float> second = ops::rand({3}, DType::f32, &parts).to_vector<float>();
  CHECK(parts.offset == 3);
  CHECK(first == std::vector<float>(all.begin(), all.begin() + 5));
  CHECK(second == std::vector<float>(all.begin() + 8, all.begin() + 11));
  // The shape does not matter, only the element count.
  ops::Generator g1{9, 0}, g2{9, 0};
  CHECK(ops::randn({6, 7}, DType::f32, &g1).to_vector<float>() ==
        ops::randn({42}, DType::f32, &g2).to_vector<float>());
}

TEST_CASE("rand is uniform in [0, 1) and randn standard normal (1e6 samples)") {
  const double n = 1e6;
  for (DType dtype : {DType::f32, DType::f64, DType::bf16, DType::f16}) {
    INFO(dtype_name(dtype));
    ops::Generator gen{2024, 0};
    Moments u = moments(ops::rand({1000, 1000}, dtype, &gen).to_vector<double>());
    // Uniform: mean 1/2, variance 1/12; the variance of the sample variance is (1/80 - 1/144)/n.
    // 16-bit dtypes round each value, which adds at most a little bias; allow it.
    double rounding = dtype == DType::bf16 ? 2e-3 : dtype == DType::f16 ? 3e-4 : 0.0;
    CHECK(std::fabs(u.mean - 0.5) < 5 * std::sqrt(1.0 / 12 / n) + rounding);
    CHECK(std::fabs(u.var - 1.0 / 12) < 5 * std::sqrt((1.0 / 80 - 1.0 / 144) / n) + rounding);
    CHECK(u.min >= 0.0);
    CHECK(u.max < 1.0);

    std::vector<double> z = ops::randn({1000, 1000}, dtype, &gen).to_vector<double>();
    Moments m = moments(z);
    double rel = dtype == DType::bf16 ? 8e-3 : dtype == DType::f16 ? 1e-3 : 0.0;
    CHECK(std::fabs(m.mean) < 5 / std::sqrt(n));
    CHECK(std::fabs(m.var - 1) < 5 * std::sqrt(2 / n) + 2 * rel);
    // Tails: P(|z| > 3) = 0.0026998; Box-Muller pairs must be uncorrelated.
    double tail = 0, corr = 0;
    for (size_t i = 0; i < z.size(); ++i) tail += std::fabs(z[i]) > 3;
    for (size_t i = 0; i + 1 < z.size(); i += 2) corr += z[i] * z[i + 1];
    tail /= n;
    corr /= n / 2;
    CHECK(std::fabs(tail - 0.0026998) < 5 * std::sqrt(0.0027 * (1 - 0.0027) / n) + rel);
    CHECK(std::fabs(corr) < 5 / std::sqrt(n / 2));
  }
}

TEST_CASE("uniform(low, high) stays in [low, high)") {
  for (DType dtype : {DType::f32, DType::f64, DType::bf16, DType::f16}) {
    INFO(dtype_name(dtype));
    ops::Generator gen{11, 0};
    std::vector<double> v = ops::uniform({100000}, -3.0, 5.0, dtype, &gen).to_vector<double>();
    Moments m = moments(v);
    CHECK(m.min >= -3.0);
    CHECK(m.max < 5.0);
    CHECK(std::fabs(m.mean - 1.0) < 5 * 8 / std::sqrt(12 * 1e5) + 0.02);
  }
  CHECK_THROWS_WITH_AS(ops::uniform({2}, 1.0, 1.0),
                       doctest::Contains("uniform: low (1) must be below high (1)"), Error);
  CHECK_THROWS_WITH_AS(ops::rand({2}, DType::i32),
                       doctest::Contains("rand: expected a floating dtype"), Error);
  CHECK_THROWS_WITH_AS(ops::randn({2}, DType::i64),
                       doctest::Contains("randn: expected a floating dtype"), Error);
}

TEST_CASE("CUDA draws the same numbers as the CPU") {
  if (!cuda_available()) {
    MESSAGE("skipped: no usable CUDA device");
    return;
  }
  const Device gpu(DeviceType::cuda, 0);
  for (DType dtype : {DType::f32, DType::f64, DType::bf16, DType::f16}) {
    INFO(dtype_name(dtype));
    for (uint64_t offset : {0ull, 3ull}) {
      ops::Generator c1{77, offset}, g1{77, offset};
      Tensor cpu_u = ops::rand({1001}, TensorOptions(dtype, kCPU), &c1);
      Tensor gpu_u = ops::rand({1001}, TensorOptions(dtype, gpu), &g1);
      CHECK(gpu_u.is_cuda());
      CHECK(bitwise_equal(cpu_u, gpu_u));
      CHECK(c1.offset == g1.offset);
      // Normals go through log, sin and cos, whose last bit may differ between libm and CUDA.
      std::vector<double> a =
          ops::randn({1001}, TensorOptions(dtype, kCPU), &c1).to_vector<double>();
      std::vector<double> b =
          ops::randn({1001}, TensorOptions(dtype, gpu), &g1).to_vector<double>();
      double worst = 0;
      for (size_t i = 0; i < a.size(); ++i)
        worst = test::worse(worst, std::fabs(a[i] - b[i]) / (1 + std::fabs(a[i])));
      double allowed = dtype == DType::bf16 ? 8e-3 : dtype == DType::f16 ? 1e-3 : 1e-6;
      CHECK(worst <= allowed);
      if (worst > 0) MESSAGE("randn CPU vs CUDA differ by up to " << worst << " (not bitwise)");
    }
  }
}
