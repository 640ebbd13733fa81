// Lesson 1: tensors — storage, shape, strides, offset; views; broadcasting; what `contiguous`
// costs.
//
// A Tensor is a handle to flat storage plus a geometry: element (i, j, k) of a tensor with strides
// (s0, s1, s2) and offset o lives at storage[o + i s0 + j s1 + k s2]. A contiguous (row-major)
// [2, 3, 4] tensor has strides (12, 4, 1). Views change only the geometry, never the data, so they
// cost nothing and share memory with their base: transpose/permute swap strides, narrow/slice move
// the offset (and multiply a stride by the step), select drops a dim, expand gives a dim stride 0
// so one value is read many times. Broadcasting (DESIGN.md, as NumPy) is exactly that: [3, 1] + [4]
// lines both up to [3, 4] by expanding size-1 and missing dims with stride 0, no copy.
//
// The price is paid later. A view whose elements are not in row-major order cannot be reshaped in
// place (`try_view` says no, `reshape` copies) and every kernel that reads it jumps through memory
// instead of streaming it. `contiguous` makes the copy once; whether that pays depends on how often
// the data is read afterwards.
//
// What to look at: the strides and offsets printed for each view, the write through a view showing
// up in its base, the zero strides of a broadcast, and the timing table at the end: the same sum
// and the same elementwise op on a contiguous matrix and on its transpose, and the copy itself.
// On the 2-core machine (4096^2) the elementwise op on the transpose took ~120 ms against ~23 ms
// for contiguous() (a blocked transpose) followed by the op on the copy: copying first can win.
// Run: build/examples/01_tensors [--quick] [--out DIR] [--seed N]
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <string>

#include "autograd/functions.h"  // operators + - * / (the same ops, recording gradients when asked)
#include "examples/lesson.h"
#include "tensor/ops.h"
#include "tensor/print.h"

using namespace trip;

static void describe(const std::string& name, const Tensor& t) {
  fmt::print("{:<28} shape {:<12} strides {:<12} offset {:<3} contiguous {}\n", name,
             fmt::format("{}", t.shape()), fmt::format("{}", t.strides()), t.offset(),
             t.is_contiguous() ? "yes" : "no");
}

// Best of `repeats` runs in milliseconds (the best run is the one least disturbed by the machine).
static double time_ms(int repeats, const std::function<void()>& f) {
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    f();
    best = std::min(
        best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                  .count());
  }
  return best;
}

int main(int argc, char** argv) {
  const LessonArgs args = parse_lesson_args(argc, argv);
  manual_seed(args.seed);
  int failures = 0;
  auto check = [&](bool ok, const char* what) {
    if (!ok) fmt::print("CHECK FAILED: {}\n", what), ++failures;
  };

  // 1. One storage, many geometries.
  const Tensor x = ops::reshape(ops::arange(0, 24), {2, 3, 4});
  fmt::print("x = arange(24) as [2, 3, 4]:\n{}\n\n", x);
  describe("x", x);
  describe("transpose(x, 1, 2)", ops::transpose(x, 1, 2));
  describe("permute(x, {2, 0, 1})", ops::permute(x, {2, 0, 1}));
  describe("select(x, 0, 1)  (= x[1])", ops::select(x, 0, 1));
  describe("narrow(x, 2, 1, 2)", ops::narrow(x, 2, 1, 2));
  describe("slice(x, 2, 0, 4, 2)", ops::slice(x, 2, 0, 4, 2));
  const Tensor row = ops::select(ops::select(x, 0, 1), 0, 2);  // x[1, 2, :]: offset 12 + 8 = 20
  describe("x[1, 2, :]", row);
  check(row.offset() == 20 && row.strides() == Dims{1}, "x[1, 2, :] starts at element 20");

  // A view writes through to its base: same storage.
  ops::fill_(ops::slice(x, 2, 0, 4, 2), -1);  // every even column of x
  fmt::print("\nafter fill_(slice(x, 2, 0, 4, 2), -1), x[0] is\n{}\n", ops::select(x, 0, 0));
  check(ops::select(x, 0, 0).to_vector<float>()[2] == -1, "the slice shares x's storage");

  // 2. Broadcasting: size-1 and missing dims get stride 0.
  const Tensor col = ops::reshape(ops::arange(0, 3), {3, 1}), line = ops::arange(0, 4);
  const Tensor table = col * line;  // [3, 1] * [4] -> [3, 4]
  fmt::print("\n[3, 1] * [4] broadcasts to {}:\n{}\n", table.shape(), table);
  describe("expand(col, {3, 4})", ops::expand(col, {3, 4}));
  describe("expand(line, {3, 4})", ops::expand(line, {3, 4}));
  check(ops::expand(line, {3, 4}).strides() == Dims{0, 1}, "an expanded dim has stride 0");
  check(table.to_vector<float>()[11] == 2 * 3, "broadcast product");

  // 3. When a view cannot be reshaped: the transpose is not in row-major order.
  const Tensor xt = ops::transpose(x, 1, 2);
  fmt::print("\ntry_view(transpose(x, 1, 2), {{2, 12}}) -> {}\n",
             ops::try_view(xt, {2, 12}) ? "a view" : "impossible without a copy");
  fmt::print("try_view(x, {{6, 4}})                 -> {}\n",
             ops::try_view(x, {6, 4}) ? "a view" : "impossible without a copy");
  check(!ops::try_view(xt, {2, 12}) && ops::try_view(x, {6, 4}), "try_view");
  const Tensor copied = ops::reshape(xt, {2, 12});
  check(copied.storage() != x.storage(), "reshape of a transpose copies");
  check(ops::reshape(x, {6, 4}).storage() == x.storage(), "reshape of x is a view");

  // 4. What strides cost: the same work on a contiguous matrix and on its transpose.
  const int64_t n = args.quick ? 1024 : 4096;
  const int repeats = args.quick ? 2 : 5;
  const Tensor a = ops::randn({n, n});
  const Tensor at = ops::transpose(a, 0, 1);  // a view: strides (1, n)
  const Tensor at_copy = ops::contiguous(at);
  fmt::print("\n{} x {} float32 ({} MB); best of {} runs\n", n, n, n * n * 4 >> 20, repeats);
  fmt::print("{:<44} {:>9}\n", "operation", "ms");
  // Results are dropped inside the timed code, so every run reuses the allocator's cached blocks.
  const double t_rows = time_ms(repeats, [&] { ops::sum(a, {1}); });
  const double t_rows_t = time_ms(repeats, [&] { ops::sum(at, {1}); });
  const double t_copy = time_ms(repeats, [&] { ops::contiguous(at); });
  const double t_mul = time_ms(repeats, [&] { a * 2.0; });
  const double t_mul_t = time_ms(repeats, [&] { at * 2.0; });
  const double t_mul_c = time_ms(repeats, [&] { at_copy * 2.0; });
  fmt::print("{:<44} {:9.2f}\n", "row sums of a (contiguous rows)", t_rows);
  fmt::print("{:<44} {:9.2f}\n", "row sums of at = a^T (a row is stride n)", t_rows_t);
  fmt::print("{:<44} {:9.2f}\n", "contiguous(at): the copy", t_copy);
  fmt::print("{:<44} {:9.2f}\n", "a * 2 (contiguous)", t_mul);
  fmt::print("{:<44} {:9.2f}\n", "at * 2 (strided view)", t_mul_t);
  fmt::print("{:<44} {:9.2f}\n", "contiguous(at) * 2 (after the copy)", t_mul_c);
  fmt::print(
      "\nrow sums through the transpose: {:.1f}x the contiguous ones; at * 2 directly: {:.1f} ms,"
      " copy then multiply: {:.1f} ms\n",
      t_rows_t / t_rows, t_mul_t, t_copy + t_mul_c);
  check(at_copy.is_contiguous() && at_copy.strides() == Dims{n, 1}, "contiguous() strides");
  // The row sums of a^T are the column sums of a; the view and its copy hold the same values.
  check(amax(abs(ops::sum(at, {1}) - ops::sum(a, {0}))).item() < 1e-3, "sums through the view");
  check(amax(abs(at * 2.0 - at_copy * 2.0)).item() == 0, "the same product from view and copy");
  fmt::print("{}\n", failures ? "some checks FAILED" : "all checks passed");
  return failures ? 1 : 0;
}
