// Tensor-layer basics: dtypes, views and strides, factories, conversions, printing and errors.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "tensor/backend.h"
#include "tensor/memory_stats.h"
#include "tensor/ops.h"
#include "tensor/print.h"

using namespace trip;

TEST_CASE("views share storage and compute strides") {
  Tensor t = ops::arange(0, 24, 1, DType::f32);
  Tensor v = ops::view(t, {2, 3, 4});
  CHECK(v.strides() == Dims{12, 4, 1});
  Tensor p = ops::permute(v, {2, 0, 1});
  CHECK(p.shape() == Dims{4, 2, 3});
  CHECK(!p.is_contiguous());
  CHECK(p.storage() == t.storage());
  Tensor c = ops::contiguous(p);
  CHECK(c.is_contiguous());
  std::vector<float> values = c.to_vector<float>();
  // c[i][j][k] = v[j][k][i] = 12j + 4k + i
  CHECK(values[0] == 0.0f);
  CHECK(values[1] == 4.0f);
  CHECK(values[3] == 12.0f);
  CHECK(values[6] == 1.0f);
}

TEST_CASE("reshape copies only when it must") {
  Tensor t = ops::reshape(ops::arange(0, 12, 1), {3, 4});
  Tensor tt = ops::transpose(t, 0, 1);
  CHECK_THROWS_WITH_AS(ops::view(tt, {12}), doctest::Contains("without a copy"), Error);
  Tensor r = ops::reshape(tt, {12});
  CHECK(r.storage() != t.storage());
  CHECK(r.to_vector<float>()[1] == 4.0f);
  Tensor same = ops::reshape(t, {2, -1});
  CHECK(same.storage() == t.storage());
  CHECK(same.shape() == Dims{2, 6});
}

TEST_CASE("narrow, select, slice, expand, squeeze") {
  Tensor t = ops::reshape(ops::arange(0, 20, 1), {4, 5});
  CHECK(ops::narrow(t, 1, 1, 3).to_vector<float>() ==
        std::vector<float>{1, 2, 3, 6, 7, 8, 11, 12, 13, 16, 17, 18});
  CHECK(ops::select(t, 0, -1).to_vector<float>() == std::vector<float>{15, 16, 17, 18, 19});
  CHECK(ops::slice(t, 1, 0, 5, 2).to_vector<float>() ==
        std::vector<float>{0, 2, 4, 5, 7, 9, 10, 12, 14, 15, 17, 19});
  Tensor e = ops::expand(ops::reshape(ops::arange(0, 3, 1), {3, 1}), {2, 3, 4});
  CHECK(e.strides() == Dims{0, 1, 0});
  CHECK(ops::contiguous(e).to_vector<float>()[5] == 1.0f);
  CHECK(ops::squeeze(ops::zeros({1, 3, 1})).shape() == Dims{3});
  CHECK(ops::unsqueeze(ops::zeros({3}), -1).shape() == Dims{3, 1});
  CHECK_THROWS_WITH_AS(ops::expand(ops::zeros({3}), {4}), doctest::Contains("cannot expand"),
                       Error);
}

TEST_CASE("dtype conversion round trips and promotion") {
  CHECK(promote(DType::i32, DType::f16) == DType::f16);
  CHECK(promote(DType::bf16, DType::f16) == DType::f32);
  CHECK(promote(DType::boolean, DType::u8) == DType::u8);
  CHECK(promote(DType::i64, DType::f32) == DType::f32);
  Tensor x = from_vector<float>({1.5f, -2.25f, 3.0f, 65504.0f}, {4});
  CHECK(ops::to(ops::to(x, DType::f16), DType::f32).to_vector<float>() == x.to_vector<float>());
  CHECK(ops::to(ops::to(x, DType::bf16), DType::f32).to_vector<float>()[0] == 1.5f);
  CHECK(ops::to(x, DType::i32).to_vector<int32_t>() == std::vector<int32_t>{1, -2, 3, 65504});
  CHECK(ops::to(x, DType::boolean).to_vector<bool>() == std::vector<bool>{true, true, true, true});
  // Round to nearest even in bf16: 1 + 2^-8 is a tie between 1 and 1 + 2^-7, and rounds to 1.
  CHECK(float(bf16(1.0f + 1.0f / 256)) == 1.0f);
  CHECK(float(f16(1e-7f)) == doctest::Approx(1.19209e-07).epsilon(0.01));  // f16 subnormal
}

TEST_CASE("factories") {
  CHECK(ops::arange(0, 1, 0.25).to_vector<float>() == std::vector<float>{0, 0.25f, 0.5f, 0.75f});
  CHECK(ops::linspace(0, 1, 5).to_vector<float>() == std::vector<float>{0, 0.25f, 0.5f, 0.75f, 1});
  CHECK(ops::full({2, 2}, 7, DType::i64).to_vector<int64_t>() == std::vector<int64_t>(4, 7));
  CHECK(ops::zeros({0, 3}).numel() == 0);
  CHECK_THROWS_WITH_AS(from_vector<float>({1, 2, 3}, {2, 2}), doctest::Contains("3 values"), Error);
}

TEST_CASE("errors name the op and the values") {
  Tensor a = ops::zeros({2, 3}), b = ops::zeros({4, 3});
  CHECK_THROWS_WITH_AS(ops::binary(BinaryOp::add, a, b),
                       doctest::Contains("add: shapes [2, 3] and [4, 3]"), Error);
  CHECK_THROWS_WITH_AS(ops::matmul(a, a), doctest::Contains("matmul: inner dims differ"), Error);
  CHECK_THROWS_WITH_AS(ops::permute(a, {0, 0}), doctest::Contains("repeated"), Error);
  CHECK_THROWS_WITH_AS(ops::sum(a, {2}), doctest::Contains("dim 2 out of range"), Error);
  CHECK_THROWS_WITH_AS(Device("gpu"), doctest::Contains("invalid device 'gpu'"), Error);
  CHECK_THROWS_WITH_AS(ops::zeros({65}, DType::f32).data<double>(), doctest::Contains("dtype f32"),
                       Error);
}

TEST_CASE("printing") {
  Tensor t = from_vector<float>({1, 2, 3, 4}, {2, 2});
  std::string s = fmt::format("{}", t);
  CHECK(s.find("[[1.0000, 2.0000],") != std::string::npos);
  CHECK(s.find("dtype=f32") != std::string::npos);
  std::string big = fmt::format("{}", ops::zeros({5000}));
  CHECK(big.find("...") != std::string::npos);
}

TEST_CASE("CUDA tensors fail clearly without a device") {
  if (cuda_available()) return;
  CHECK_THROWS_WITH_AS(ops::zeros({2}, Device("cuda")), doctest::Contains("CUDA"), Error);
}

TEST_CASE("f32 reductions: NaN wins, inf does not fool the NaN check, long rows") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> row(3000);
  for (size_t i = 0; i < row.size(); ++i) row[i] = float(i % 97) - 40.0f;
  Tensor plain = from_vector(row, {3000});
  CHECK(ops::amax(plain).item() == 56.0);
  CHECK(ops::amin(plain).item() == -40.0);
  row[1234] = inf;
  row[1500] = -inf;  // inf - inf makes the running check NaN: the exact pass must still give inf
  CHECK(ops::amax(from_vector(row, {3000})).item() == inf);
  CHECK(ops::amin(from_vector(row, {3000})).item() == -inf);
  row[2999] = nan;
  CHECK(std::isnan(ops::amax(from_vector(row, {3000})).item()));
  CHECK(std::isnan(ops::amin(from_vector(row, {1, 3000}), {1}).item()));
  CHECK(std::isnan(ops::sum(from_vector(row, {3000})).item()));
  // A sum whose f32 lanes see large cancellations still matches a double reference closely.
  std::vector<float> big(100000);
  double want = 0;
  for (size_t i = 0; i < big.size(); ++i) {
    big[i] = float((i % 3 == 0 ? 1e4 : -5e3) + double(i % 7) * 0.1);
    want += big[i];
  }
  double got = ops::sum(from_vector(big, {100000})).item();
  CHECK(got == doctest::Approx(want).epsilon(1e-6));  // a plain float loop is off by ~1e-3
}

TEST_CASE("f32 column sums: f32 chunks redone in double on overflow, NaN and inf kept, accurate") {
  // Columns [rows, 3]: col 0 overflows f32 halfway (the double sum does not), col 1 holds an inf,
  // col 2 a NaN. 700 rows: three row chunks, each summed in f32 first.
  const int64_t rows = 700;
  std::vector<float> v(size_t(rows * 3), 1.0f);
  v[0] = 3e38f, v[3] = 3e38f, v[6] = -3e38f;  // col 0: 3e38 + 3e38 - 3e38 + 697
  v[size_t(400 * 3 + 1)] = std::numeric_limits<float>::infinity();
  v[size_t(650 * 3 + 2)] = std::numeric_limits<float>::quiet_NaN();
  const Tensor s = ops::sum(from_vector(v, {rows, 3}), {0});
  const std::vector<float> got = s.to_vector<float>();
  const std::vector<float> mean = ops::mean(from_vector(v, {rows, 3}), {0}).to_vector<float>();
  CHECK(mean[0] == doctest::Approx((3e38 + 697) / rows));
  CHECK(got[0] == doctest::Approx(3e38));
  CHECK(got[1] == std::numeric_limits<float>::infinity());
  CHECK(std::isnan(got[2]));
  // Long columns: the f32 runs stay short, so the sums match a double reference closely (a plain
  // float loop over 20000 rows is off by ~1e-4), also with large cancellations inside a run.
  for (bool cancel : {false, true}) {
    const int64_t n = 20000;
    std::vector<float> big(size_t(n * 4));
    std::vector<double> want(4, 0.0);
    for (size_t i = 0; i < big.size(); ++i) {
      big[i] = float((cancel ? (i % 3 == 0 ? 1e4 : -5e3) : 1.0) + double(i % 7) * 0.1);
      want[i % 4] += big[i];
    }
    const std::vector<float> cols = ops::sum(from_vector(big, {n, 4}), {0}).to_vector<float>();
    for (size_t c = 0; c < 4; ++c)
      CHECK(cols[c] == doctest::Approx(want[c]).epsilon(cancel ? 1e-5 : 1e-6));
  }
}

TEST_CASE("strided elementwise loops: chunks start mid-row, rows step through 4 outer dims") {
  // [5, 13, 11, 7, 9] permuted: rows of 9 (or 7) elements, 45045 elements in two chunks of
  // 32768 whose boundary falls inside a row; every element must land where its index says.
  const Dims shape{5, 13, 11, 7, 9};
  std::vector<float> v(size_t(numel_of(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(i);
  const Tensor x = from_vector(v, shape);
  for (const Dims& perm : {Dims{4, 2, 0, 3, 1}, Dims{1, 0, 3, 2, 4}, Dims{2, 3, 1, 0, 4}}) {
    const Tensor p = ops::permute(x, perm);
    const std::vector<float> got = ops::contiguous(p).to_vector<float>();
    const std::vector<float> sum = ops::binary(BinaryOp::add, p, p).to_vector<float>();
    // The expected value of each output element from its coordinates.
    Dims out_shape = p.shape();
    int64_t bad = 0;
    for (int64_t lin = 0; lin < int64_t(got.size()); ++lin) {
      int64_t rest = lin, src = 0;
      for (int d = 4; d >= 0; --d) {
        const int64_t c = rest % out_shape[d];
        rest /= out_shape[d];
        src += c * x.strides()[perm[d]];
      }
      bad += got[size_t(lin)] != float(src) || sum[size_t(lin)] != 2.0f * float(src);
    }
    CHECK(bad == 0);
  }
}

TEST_CASE("CPU memory statistics count tensors in use and their peak") {
  const CpuMemoryStats before = cpu_memory_stats();
  CHECK(before.peak >= before.in_use);
  size_t with_small = 0;
  {
    // A large block (the cache's path, rounded to 4 KiB) and a small one (malloc's path).
    Tensor big = ops::zeros({1000, 1000}, DType::f32);  // 4,000,000 bytes
    const size_t with_big = cpu_memory_stats().in_use;
    CHECK(with_big - before.in_use >= 4000000);
    CHECK(with_big - before.in_use <= 4000000 + 4096);
    Tensor small = ops::zeros({10}, DType::f64);  // 80 bytes
    with_small = cpu_memory_stats().in_use;
    CHECK(with_small - with_big >= 80);
    CHECK(with_small - with_big <= 80 + 128);
    CHECK(cpu_memory_stats().peak >= with_small);
  }
  const CpuMemoryStats after = cpu_memory_stats();
  CHECK(after.in_use == before.in_use);  // both blocks returned (the large one to the cache)
  CHECK(after.peak >= with_small);       // the peak remembers them
  reset_peak_memory_stats(kCPU);
  CHECK(cpu_memory_stats().peak == cpu_memory_stats().in_use);
  {
    Tensor t = ops::zeros({300000}, DType::f32);
    CHECK(cpu_memory_stats().peak >= after.in_use + 1200000);
  }
  CHECK(cpu_memory_stats().peak >= cpu_memory_stats().in_use + 1200000);
  reset_peak_memory_stats(kCPU);  // the CUDA path is a no-op without a device
  reset_peak_memory_stats(cuda(0));

  // A smaller request served by a larger cached block counts the block, the size it frees.
  { Tensor a = ops::zeros({1000000}, DType::f32); }  // 4 MB, back to the cache
  const size_t base = cpu_memory_stats().in_use;
  {
    Tensor b = ops::zeros({900000}, DType::f32);  // 3.6 MB: may reuse the 4 MB block
    CHECK(cpu_memory_stats().in_use - base >= 3600000);
  }
  CHECK(cpu_memory_stats().in_use == base);

  // Concurrent allocations and frees from several threads leave the count where it was.
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([i] {
      for (int k = 0; k < 200; ++k) Tensor t = ops::zeros({int64_t(1 + (k * 37 + i) % 100000)});
    });
  }
  for (std::thread& th : threads) th.join();
  CHECK(cpu_memory_stats().in_use == after.in_use);
}
