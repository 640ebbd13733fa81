// The op table: matmul with NumPy semantics: 2-d, batched, broadcast batches, 1-d operands on
// either side, empty and K = 0 products, sizes that straddle the GEMM's blocks, and explicitly
// transposed operands (the layouts of the generic checks add column-major and strided ones).
#include "tests/op_table_ref.h"

namespace trip::optest {

namespace {

OpInfo matmul_op(std::string name, std::function<Tensor(const Tensor&, const Tensor&)> f,
                 std::function<Host(const Host&, const Host&)> r, std::vector<Case> cases) {
  OpInfo op;
  op.name = std::move(name);
  op.fn = [f](const std::vector<Tensor>& x, const Args&) {
    return std::vector<Tensor>{f(x[0], x[1])};
  };
  op.ref = [r](const std::vector<Host>& x, const Args&) {
    return std::vector<Host>{r(x[0], x[1])};
  };
  op.cases = std::move(cases);
  // Sums of up to 129 products: the rounding of the accumulation grows with K.
  op.tol_scale = 4;
  op.integer_error = "matmul: expected floating dtypes";
  return op;
}

}  // namespace

std::vector<OpInfo> matmul_ops() {
  std::vector<OpInfo> ops;
  ops.push_back(matmul_op(
      "matmul", [](const Tensor& a, const Tensor& b) { return trip::matmul(a, b); }, ref::matmul,
      {
          {"7x13@13x5", {in({7, 13}), in({13, 5})}},
          {"1x1@1x1", {in({1, 1}), in({1, 1})}},
          {"3x4x5@3x5x6", {in({3, 4, 5}), in({3, 5, 6})}},
          {"2x1x4x5@3x5x6", {in({2, 1, 4, 5}), in({3, 5, 6})}},
          {"4x5@3x5x6", {in({4, 5}), in({3, 5, 6})}},
          {"3x4x5@5x6", {in({3, 4, 5}), in({5, 6})}},
          {"5@5x6", {in({5}), in({5, 6})}},
          {"7x5@5", {in({7, 5}), in({5})}},
          {"5@5", {in({5}), in({5})}},
          {"3x4x5@5", {in({3, 4, 5}), in({5})}},
          {"5@2x5x3", {in({5}), in({2, 5, 3})}},
          {"3x0@0x4", {in({3, 0}), in({0, 4})}},
          {"0x4@4x3", {in({0, 4}), in({4, 3})}},
          {"2x3x4x5x6@6x7 video", {in({2, 3, 4, 5, 6}), in({6, 7})}},
          {"65x129@129x67", {in({65, 129}), in({129, 67})}},
          {"2x33x17@2x17x40", {in({2, 33, 17}), in({2, 17, 40})}},
      }));
  ops.back().errors = {
      {"inner dims",
       [] {
         trip::matmul(ops::zeros({2, 3}), ops::zeros({4, 5}));
       },
       "matmul: inner dims differ: [2, 3] @ [4, 5]"},
      {"0-d operand", [] { trip::matmul(ops::zeros({}), ops::zeros({3})); }, "at least 1 dim"},
      {"batch dims",
       [] {
         trip::matmul(ops::zeros({2, 3, 4}), ops::zeros({3, 4, 5}));
       },
       "cannot be broadcast"},
  };

  // a^T @ b and a @ b^T, written with transpose: the shapes listed are those of a and b.
  ops.push_back(matmul_op(
      "matmul(a^T,b)",
      [](const Tensor& a, const Tensor& b) { return trip::matmul(trip::transpose(a, -1, -2), b); },
      [](const Host& a, const Host& b) { return ref::matmul(ref::transpose(a, -1, -2), b); },
      {{"13x7,13x5", {in({13, 7}), in({13, 5})}},
       {"3x5x4,3x5x6", {in({3, 5, 4}), in({3, 5, 6})}},
       {"3x5x4,5x6 (batch rows not one tall matrix)", {in({3, 5, 4}), in({5, 6})}},
       {"129x65,129x67", {in({129, 65}), in({129, 67})}}}));
  ops.push_back(matmul_op(
      "matmul(a,b^T)",
      [](const Tensor& a, const Tensor& b) { return trip::matmul(a, trip::transpose(b, -1, -2)); },
      [](const Host& a, const Host& b) { return ref::matmul(a, ref::transpose(b, -1, -2)); },
      {{"7x13,5x13", {in({7, 13}), in({5, 13})}},
       {"2x3x4x5,6x5", {in({2, 3, 4, 5}), in({6, 5})}},
       {"65x129,67x129", {in({65, 129}), in({67, 129})}}}));
  ops.push_back(matmul_op(
      "matmul(a^T,b^T)",
      [](const Tensor& a, const Tensor& b) {
        return trip::matmul(trip::transpose(a, -1, -2), trip::transpose(b, -1, -2));
      },
      [](const Host& a, const Host& b) {
        return ref::matmul(ref::transpose(a, -1, -2), ref::transpose(b, -1, -2));
      },
      {{"13x7,5x13", {in({13, 7}), in({5, 13})}},
       {"3x5x4,3x6x5", {in({3, 5, 4}), in({3, 6, 5})}}}));
  return ops;
}

}  // namespace trip::optest
