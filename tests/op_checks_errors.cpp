// Generated check (d): the bad inputs of every op of the table throw trip::Error with a message
// naming the problem; ops that refuse integer tensors say so; and, when a GPU exists, inputs on
// two devices are refused.
#include <doctest/doctest.h>

#include "tensor/backend.h"
#include "tests/op_table.h"

using namespace trip;
using namespace trip::optest;

TEST_CASE("op table: bad inputs throw errors that name the problem") {
  int checks = 0;
  for (const OpInfo& op : op_table()) {
    for (const BadInput& bad : op.errors) {
      INFO(op.name, ": ", bad.what);
      CHECK_THROWS_WITH_AS(bad.call(), doctest::Contains(bad.fragment.c_str()), trip::Error);
      ++checks;
    }
  }
  MESSAGE(checks << " bad-input checks");
}

TEST_CASE("op table: floating-only ops refuse integer tensors") {
  for (const OpInfo& op : op_table()) {
    if (op.integer_error.empty()) continue;
    const Case& c = op.cases.front();
    INFO(op.name, " / ", c.name);
    std::vector<Host> values = input_values(op, c, DType::i32);
    std::vector<Tensor> inputs = make_inputs(op, c, values, DType::i32, Layout::contiguous);
    CHECK_THROWS_WITH_AS(op.fn(inputs, c.args), doctest::Contains(op.integer_error.c_str()),
                         trip::Error);
  }
}

TEST_CASE("op table: inputs on two devices are refused") {
  if (!cuda_available()) {
    MESSAGE("skipped: no usable CUDA device (device-mismatch errors need one)");
    return;
  }
  for (const OpInfo& op : op_table()) {
    if (!op.same_device_only) continue;
    for (const Case& c : op.cases) {
      if (c.inputs.size() < 2) continue;
      DType dtype = op.dtypes.front();
      std::vector<Host> values = input_values(op, c, dtype);
      for (size_t moved = 0; moved < c.inputs.size(); ++moved) {
        std::vector<Tensor> inputs = make_inputs(op, c, values, dtype, Layout::contiguous);
        inputs[moved] = ops::to(inputs[moved], Device(DeviceType::cuda, 0));
        INFO(describe(op, c, dtype), ": input ", moved, " on cuda");
        CHECK_THROWS_WITH_AS(op.fn(inputs, c.args), doctest::Contains("cuda"), trip::Error);
      }
      break;  // the first case with two inputs is enough
    }
  }
}
