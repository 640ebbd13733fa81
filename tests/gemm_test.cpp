// Tests of the CPU GEMM (tensor/cpu/gemm.h) against a naive double-precision reference: many
// shapes (odd ones and ones straddling the block sizes), transposed and strided operands,
// broadcast batches, accumulate, K = 0, every micro-kernel set this CPU can run, and bit-identical
// results for 1, 2 and 3 OpenMP threads. C and its row padding are poisoned beforehand: every
// element must be written and the padding must survive.
#include "tensor/cpu/gemm.h"

#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

using trip::cpu::GemmKernel;

// How an operand is laid out in memory.
enum class Layout { row_major, col_major, strided };

struct Case {
  int64_t batch, M, N, K;
  Layout a_layout = Layout::row_major, b_layout = Layout::row_major;
  bool broadcast_a = false, broadcast_b = false, accumulate = false;
  int64_t c_pad = 3;  // extra elements at the end of each C row
};

std::string describe(const Case& t) {
  const char* names[] = {"row", "col", "strided"};
  return std::to_string(t.batch) + "x[" + std::to_string(t.M) + "x" + std::to_string(t.N) + "x" +
         std::to_string(t.K) + "] A:" + names[int(t.a_layout)] + (t.broadcast_a ? "(bcast)" : "") +
         " B:" + names[int(t.b_layout)] + (t.broadcast_b ? "(bcast)" : "") +
         (t.accumulate ? " acc" : "");
}

// A rows x cols operand stored with the given layout; `strided` leaves gaps in both directions
// so neither stride is 1 (the general packing path).
template <typename T>
struct Operand {
  int64_t rs = 0, cs = 0, bs = 0;
  std::vector<T> data;
  Operand(int64_t batch, int64_t rows, int64_t cols, Layout layout, bool broadcast,
          std::mt19937& rng) {
    if (layout == Layout::row_major) rs = cols + 1, cs = 1;  // +1: rows not packed tight
    if (layout == Layout::col_major) rs = 1, cs = rows + 2;
    if (layout == Layout::strided) rs = 2 * cols + 1, cs = 2;
    const int64_t one = std::max<int64_t>(1, (rows - 1) * rs + (cols - 1) * cs + 1);
    bs = broadcast ? 0 : one + 5;
    data.resize(broadcast ? one : batch * bs);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    for (T& x : data) x = T(u(rng));
  }
  T at(int64_t p, int64_t i, int64_t j) const { return data[p * bs + i * rs + j * cs]; }
};

template <typename T>
void gemm(int64_t batch, int64_t M, int64_t N, int64_t K, const Operand<T>& a, const Operand<T>& b,
          T* c, int64_t c_bs, int64_t c_rs, bool accumulate) {
  if constexpr (sizeof(T) == 4) {
    trip::cpu::gemm_f32(batch, M, N, K, a.data.data(), a.bs, a.rs, a.cs, b.data.data(), b.bs, b.rs,
                        b.cs, c, c_bs, c_rs, accumulate);
  } else {
    trip::cpu::gemm_f64(batch, M, N, K, a.data.data(), a.bs, a.rs, a.cs, b.data.data(), b.bs, b.rs,
                        b.cs, c, c_bs, c_rs, accumulate);
  }
}

// Padding value after each C row: a finite number no product would produce.
template <typename T>
constexpr T kSentinel = T(-12345.25);

// Runs one case with `threads` OpenMP threads, checks it against the double reference and returns
// the whole C buffer (padding included) for the cross-thread comparison.
template <typename T>
std::vector<T> run_case(const Case& t, int threads) {
  std::mt19937 rng(unsigned(t.M * 131 + t.N * 17 + t.K * 7 + t.batch));
  const Operand<T> a(t.batch, t.M, t.K, t.a_layout, t.broadcast_a, rng);
  const Operand<T> b(t.batch, t.K, t.N, t.b_layout, t.broadcast_b, rng);
  const int64_t c_rs = t.N + t.c_pad, c_bs = t.M * c_rs + 7;
  std::vector<T> c(std::max<int64_t>(1, t.batch * c_bs), kSentinel<T>);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (int64_t p = 0; p < t.batch; ++p)
    for (int64_t i = 0; i < t.M; ++i)
      for (int64_t j = 0; j < t.N; ++j)
        c[p * c_bs + i * c_rs + j] = t.accumulate ? T(u(rng)) : std::numeric_limits<T>::quiet_NaN();
  const std::vector<T> c0 = c;

  omp_set_num_threads(threads);
  gemm<T>(t.batch, t.M, t.N, t.K, a, b, c.data(), c_bs, c_rs, t.accumulate);

  // Rounding error grows like sqrt(K) for random signs; scale by the sum of |terms| so that
  // cancellation cannot make a correct result look wrong.
  const double eps = sizeof(T) == 4 ? 1e-5 : 1e-13;
  int64_t bad = 0;
  for (int64_t p = 0; p < t.batch; ++p) {
    for (int64_t i = 0; i < t.M; ++i) {
      const int64_t row = p * c_bs + i * c_rs;
      for (int64_t j = 0; j < t.N; ++j) {
        double ref = t.accumulate ? double(c0[row + j]) : 0.0, scale = std::fabs(ref);
        for (int64_t k = 0; k < t.K; ++k) {
          const double term = double(a.at(p, i, k)) * double(b.at(p, k, j));
          ref += term;
          scale += std::fabs(term);
        }
        const double got = c[row + j];
        const double tol = eps * std::sqrt(double(std::max<int64_t>(t.K, 1))) * (scale + 1e-30);
        if (!(std::fabs(got - ref) <= tol) && bad++ < 3)
          FAIL_CHECK(describe(t) << " C(" << p << "," << i << "," << j << ") = " << got
                                 << ", reference " << ref);
      }
      for (int64_t j = t.N; j < c_rs && row + j < int64_t(c.size()); ++j)
        if (c[row + j] != kSentinel<T> && bad++ < 3)
          FAIL_CHECK(describe(t) << " wrote padding at row " << i << " column " << j);
    }
  }
  CHECK_MESSAGE(bad == 0, describe(t));
  return c;
}

// Runs the case with 1, 2 and 3 threads and requires bit-identical results.
template <typename T>
void check_case(const Case& t) {
  const int saved_threads = omp_get_max_threads();
  const std::vector<T> one = run_case<T>(t, 1);
  for (int threads : {2, 3}) {
    const std::vector<T> many = run_case<T>(t, threads);
    CHECK_MESSAGE(std::memcmp(one.data(), many.data(), one.size() * sizeof(T)) == 0,
                  describe(t) << ": " << threads << " threads differ from 1 thread");
  }
  omp_set_num_threads(saved_threads);
}

// The micro-kernel sets this machine can run (forcing an unsupported one falls back, so only
// sets that resolve to themselves are distinct).
std::vector<GemmKernel> runnable_kernels() {
  std::vector<GemmKernel> out;
  for (GemmKernel k : {GemmKernel::avx512, GemmKernel::avx2, GemmKernel::generic}) {
    trip::cpu::set_gemm_kernel(k);
    if (trip::cpu::active_gemm_kernel() == k) out.push_back(k);
  }
  trip::cpu::set_gemm_kernel(GemmKernel::automatic);
  return out;
}

const char* kernel_name(GemmKernel k) {
  return k == GemmKernel::avx512 ? "avx512" : k == GemmKernel::avx2 ? "avx2" : "generic";
}

// Shapes: degenerate, odd, and around the micro-tiles (mr 4..12, nr 4..32) and cache blocks
// (kc 256, mc 96..192), plus a few big enough to be split over threads.
std::vector<Case> shape_cases() {
  std::vector<Case> cases;
  const int64_t shapes[][3] = {
      {1, 1, 1},     {1, 17, 1},      {1, 64, 1},    {7, 13, 5},    {33, 65, 17},   {100, 1, 300},
      {1, 100, 300}, {257, 129, 511}, {11, 31, 255}, {12, 32, 256}, {13, 33, 257},  {25, 97, 513},
      {192, 64, 64}, {193, 129, 40},  {97, 200, 3},  {5, 2049, 3},  {300, 40, 260}, {6, 16, 1000},
      {33, 48, 40},  {70, 600, 300},  // narrow tile; A and row-major B both packed
  };
  for (const auto& s : shapes) cases.push_back({1, s[0], s[1], s[2]});
  return cases;
}

// Every layout pair on a few shapes (row-major A takes the in-place path when N is small).
std::vector<Case> layout_cases() {
  std::vector<Case> cases;
  const Layout layouts[] = {Layout::row_major, Layout::col_major, Layout::strided};
  const int64_t shapes[][3] = {{33, 65, 17}, {70, 150, 300}, {13, 7, 29}};
  for (const auto& s : shapes)
    for (Layout la : layouts)
      for (Layout lb : layouts) cases.push_back({1, s[0], s[1], s[2], la, lb});
  return cases;
}

std::vector<Case> batch_cases() {
  std::vector<Case> cases;
  // Attention-like: many small matrices, whole matrices per thread.
  cases.push_back({64, 8, 8, 8});
  cases.push_back({6, 16, 16, 64, Layout::row_major, Layout::col_major});
  cases.push_back({5, 64, 64, 64, Layout::row_major, Layout::col_major});
  // Shared weights (broadcast operand) and a batch that does not divide over the threads.
  cases.push_back({3, 100, 70, 50, Layout::row_major, Layout::row_major, true, false});
  cases.push_back({3, 90, 130, 70, Layout::col_major, Layout::col_major, false, true});
  cases.push_back({4, 33, 20, 9, Layout::strided, Layout::row_major, false, true, true});
  return cases;
}

template <typename T>
void check_all_kernels(const std::vector<Case>& cases) {
  for (GemmKernel k : runnable_kernels()) {
    trip::cpu::set_gemm_kernel(k);
    INFO("kernel " << std::string(kernel_name(k)));
    for (const Case& t : cases) check_case<T>(t);
  }
  trip::cpu::set_gemm_kernel(GemmKernel::automatic);
}

std::vector<Case> with_accumulate(std::vector<Case> cases) {
  for (Case& t : cases) t.accumulate = true;
  return cases;
}

}  // namespace

TEST_CASE("gemm: a kernel set is always available") {
  trip::cpu::set_gemm_kernel(GemmKernel::automatic);
  CHECK(trip::cpu::active_gemm_kernel() != GemmKernel::automatic);
  CHECK(!runnable_kernels().empty());
}

TEST_CASE_TEMPLATE("gemm: shapes", T, float, double) { check_all_kernels<T>(shape_cases()); }

TEST_CASE_TEMPLATE("gemm: accumulate", T, float, double) {
  check_all_kernels<T>(with_accumulate(shape_cases()));
}

TEST_CASE_TEMPLATE("gemm: transposed and strided operands", T, float, double) {
  check_all_kernels<T>(layout_cases());
}

TEST_CASE_TEMPLATE("gemm: batches and broadcast", T, float, double) {
  check_all_kernels<T>(batch_cases());
}

TEST_CASE_TEMPLATE("gemm: K = 0 gives zeros, or leaves C as it was when accumulating", T, float,
                   double) {
  for (bool accumulate : {false, true}) {
    const int64_t M = 5, N = 6, c_rs = 8;
    std::vector<T> c(M * c_rs, kSentinel<T>);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) c[i * c_rs + j] = T(i - j);
    const T dummy = T(1);
    if constexpr (sizeof(T) == 4)
      trip::cpu::gemm_f32(1, M, N, 0, &dummy, 0, 0, 0, &dummy, 0, 0, 0, c.data(), 0, c_rs,
                          accumulate);
    else
      trip::cpu::gemm_f64(1, M, N, 0, &dummy, 0, 0, 0, &dummy, 0, 0, 0, c.data(), 0, c_rs,
                          accumulate);
    for (int64_t i = 0; i < M; ++i) {
      for (int64_t j = 0; j < N; ++j) CHECK(c[i * c_rs + j] == (accumulate ? T(i - j) : T(0)));
      for (int64_t j = N; j < c_rs; ++j) CHECK(c[i * c_rs + j] == kSentinel<T>);
    }
  }
}

TEST_CASE("gemm: M, N or batch = 0 touches nothing") {
  float c = kSentinel<float>;
  const float one = 1.0f;
  trip::cpu::gemm_f32(1, 0, 4, 4, &one, 0, 0, 0, &one, 0, 0, 0, &c, 0, 0, false);
  trip::cpu::gemm_f32(1, 4, 0, 4, &one, 0, 0, 0, &one, 0, 0, 0, &c, 0, 0, false);
  trip::cpu::gemm_f32(0, 4, 4, 4, &one, 0, 0, 0, &one, 0, 0, 0, &c, 0, 0, false);
  CHECK(c == kSentinel<float>);
}
