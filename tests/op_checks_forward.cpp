// Generated check (a): every op of the table, every case, dtype and input layout, against its
// naive reference in double. Allocations are poisoned (NaN) so an unwritten output element
// fails. The whole storage behind every input is compared before and after: an op may change
// nothing there, except an in-place op inside its target's own elements (the strided layout's
// gaps are sentinels, so a write through wrong strides shows).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "tensor/backend.h"
#include "tests/op_table.h"

using namespace trip;
using namespace trip::optest;

namespace {

struct PoisonGuard {
  bool previous = poison_allocations();
  PoisonGuard() { set_poison_allocations(true); }
  ~PoisonGuard() { set_poison_allocations(previous); }
};

bool same_values(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  return true;
}

// Every element of the storage behind t, whatever t's view of it.
std::vector<double> storage_values(const Tensor& t) {
  int64_t capacity = int64_t(t.storage()->nbytes() / element_size(t.dtype()));
  return t.as_strided({capacity}, {1}, 0).to_vector<double>();
}

// Which storage elements t's view covers.
std::vector<bool> footprint(const Tensor& t) {
  std::vector<bool> covered(t.storage()->nbytes() / element_size(t.dtype()), false);
  std::vector<int64_t> idx(t.dim(), 0);
  for (int64_t n = 0; n < t.numel(); ++n) {
    int64_t at = t.offset();
    for (int d = 0; d < t.dim(); ++d) at += idx[d] * t.strides()[d];
    covered[at] = true;
    for (int d = t.dim() - 1; d >= 0 && ++idx[d] == t.shape()[d]; --d) idx[d] = 0;
  }
  return covered;
}

// Runs one (op, case, dtype, layout) and returns "" or what went wrong.
std::string run_forward(const OpInfo& op, const Case& c, DType dtype, Layout layout,
                        const std::vector<Host>& values, const std::vector<Host>& want) {
  std::vector<Tensor> inputs, got;
  std::vector<std::vector<double>> before;
  try {
    inputs = make_inputs(op, c, values, dtype, layout);
    for (const Tensor& t : inputs) before.push_back(storage_values(t));
    got = op.fn(inputs, c.args);
  } catch (const std::exception& e) {
    return std::string("threw: ") + e.what();
  }
  if (got.size() != want.size()) {
    return fmt::format("{} outputs, reference has {}", got.size(), want.size());
  }
  std::string report;
  for (size_t i = 0; i < got.size(); ++i) {
    DType expected = op.output_dtype(dtype, int(i));
    std::string err = compare(got[i], want[i], expected, op.tol(expected));
    if (!err.empty()) report += fmt::format("output {}: {}\n", i, err);
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::vector<double> after = storage_values(inputs[i]);
    if (op.in_place && i == 0) {
      // The target's own elements are the result; everything else must stay.
      std::vector<bool> mine = footprint(inputs[0]);
      for (size_t j = 0; j < after.size(); ++j) {
        if (mine[j]) after[j] = before[0][j];
      }
    }
    if (!same_values(after, before[i])) {
      report += fmt::format("the storage of input {} changed{}\n", i,
                            op.in_place && i == 0 ? " outside the target's elements" : "");
    }
  }
  return report;
}

// Every (case, dtype, layout) of the family's ops against the reference.
void check_forward(const std::string& family) {
  PoisonGuard poison;
  int runs = 0;
  for (const OpInfo* op_ptr : op_family(family)) {
    const OpInfo& op = *op_ptr;
    for (const Case& c : op.cases) {
      for (DType dtype : op.dtypes) {
        std::vector<Host> values = input_values(op, c, dtype);
        std::vector<Host> want;
        try {
          want = op.ref(values, c.args);
        } catch (const std::exception& e) {
          FAIL_CHECK(describe(op, c, dtype) << ": the reference threw " << e.what());
          continue;
        }
        for (Layout layout : layouts_of(op)) {
          std::string err = run_forward(op, c, dtype, layout, values, want);
          ++runs;
          INFO(describe(op, c, dtype), " / " + std::string(layout_name(layout)));
          if (op.known_failure.empty())
            CHECK_MESSAGE(err.empty(), err);
          else
            WARN_MESSAGE(err.empty(),
                         (std::string("known failure (") + op.known_failure + "): " + err));
        }
      }
    }
  }
  MESSAGE(runs << " forward runs");
}

}  // namespace

TEST_CASE("op table forward: unary") { check_forward("unary"); }
TEST_CASE("op table forward: binary") { check_forward("binary"); }
TEST_CASE("op table forward: reduce") { check_forward("reduce"); }
TEST_CASE("op table forward: matmul") { check_forward("matmul"); }
TEST_CASE("op table forward: views") { check_forward("views"); }
TEST_CASE("op table forward: index") { check_forward("index"); }
TEST_CASE("op table forward: factories") { check_forward("factories"); }
TEST_CASE("op table forward: norm") { check_forward("norm"); }

TEST_CASE("op table: entries are complete") {
  for (const OpInfo& op : op_table()) {
    INFO(op.name);
    CHECK(!op.cases.empty());
    CHECK(op.fn);
    CHECK(op.ref);
    CHECK(!op.dtypes.empty());
    // Each family has its test cases above; a new family needs its own.
    const std::vector<std::string> families = {"unary", "binary", "reduce",    "matmul",
                                               "views", "index",  "factories", "norm"};
    CHECK(std::find(families.begin(), families.end(), op.family) != families.end());
  }
}
