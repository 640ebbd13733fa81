// Generated check (b): float64 gradcheck of every differentiable op of the table at each small
// case, with its inputs contiguous and also turned non-contiguous inside the checked function
// (through differentiable views), so backward formulas meet transposed and strided inputs.
#include <doctest/doctest.h>

#include "autograd/gradcheck.h"
#include "tests/op_table.h"

using namespace trip;
using namespace trip::optest;

namespace {

// Tighter than gradcheck's defaults: central differences in f64 with eps 1e-6 are good to about
// 1e-9 here, and a loose rtol (1e-3) lets a wrong factor such as n vs n - 1 slip through.
constexpr double kGradAtol = 1e-7, kGradRtol = 1e-6;

// The same values as x in another layout, built with differentiable ops so gradients flow.
Tensor relayout(const Tensor& x, Layout layout) {
  if (layout == Layout::contiguous) return x;
  if (layout == Layout::transposed && x.dim() >= 2) {
    return trip::transpose(trip::contiguous(trip::transpose(x, -1, -2)), -1, -2);
  }
  // Every other element, at offset 1, of x stacked with itself along a new last dim.
  return trip::select(trip::stack({x, x}, -1), -1, 1);
}

bool gets_gradient(const Input& input) {
  return (input.domain == Domain::normal || input.domain == Domain::positive ||
          input.domain == Domain::smooth) &&
         is_floating(input_dtype(input, DType::f64));
}

void check_gradients(const std::string& family) {
  int checks = 0;
  for (const OpInfo* op_ptr : op_family(family)) {
    const OpInfo& op = *op_ptr;
    if (!op.differentiable) continue;
    bool has_f64 = false;
    for (DType t : op.dtypes) has_f64 |= t == DType::f64;
    if (!has_f64) continue;
    for (const Case& c : op.cases) {
      if (!small_enough_for_gradcheck(c)) continue;
      std::vector<Host> values = input_values(op, c, DType::f64);
      std::vector<Tensor> inputs = make_inputs(op, c, values, DType::f64, Layout::contiguous);
      bool any = false;
      for (size_t i = 0; i < inputs.size(); ++i) {
        if (!gets_gradient(c.inputs[i])) continue;
        inputs[i].set_requires_grad(true);
        any = true;
      }
      if (!any) continue;
      std::vector<Tensor> outputs = op.fn(inputs, c.args);
      for (Layout layout : layouts_of(op)) {
        for (size_t k = 0; k < outputs.size(); ++k) {
          if (outputs[k].dtype() != DType::f64) continue;  // indices, masks
          INFO(describe(op, c, DType::f64), " / " + std::string(layout_name(layout)), " / output ",
               k);
          auto fn = [&](const std::vector<Tensor>& xs) {
            std::vector<Tensor> moved;
            for (const Tensor& x : xs) moved.push_back(relayout(x, layout));
            return op.fn(moved, c.args)[k];
          };
          ++checks;
          try {
            GradcheckResult r = gradcheck(fn, inputs, 1e-6, kGradAtol, kGradRtol);
            if (op.known_failure.empty())
              CHECK_MESSAGE(r.ok, r.message);
            else
              WARN_MESSAGE(r.ok,
                           (std::string("known failure (") + op.known_failure + "): " + r.message));
          } catch (const std::exception& e) {
            FAIL_CHECK("threw: " << e.what());
          }
        }
      }
    }
  }
  MESSAGE(checks << " gradchecks");
}

}  // namespace

TEST_CASE("op table gradcheck: unary") { check_gradients("unary"); }
TEST_CASE("op table gradcheck: binary") { check_gradients("binary"); }
TEST_CASE("op table gradcheck: reduce") { check_gradients("reduce"); }
TEST_CASE("op table gradcheck: matmul") { check_gradients("matmul"); }
TEST_CASE("op table gradcheck: views") { check_gradients("views"); }
TEST_CASE("op table gradcheck: index") { check_gradients("index"); }
TEST_CASE("op table gradcheck: norm") { check_gradients("norm"); }
