// Generated check (c): when a CUDA device is usable, every op of the table on CUDA against the
// CPU result (same inputs, contiguous and strided), and for differentiable ops the input
// gradients of both devices. Without a device one test says so and passes.
#include <doctest/doctest.h>

#include "tensor/backend.h"
#include "tests/op_table.h"

using namespace trip;
using namespace trip::optest;

namespace {

const Device kCuda = Device(DeviceType::cuda, 0);

// Gradients of sum(output * w) for every floating input, w a fixed pattern of output's shape.
std::vector<Tensor> input_grads(const OpInfo& op, const Case& c, std::vector<Tensor> inputs) {
  for (size_t i = 0; i < inputs.size(); ++i)
    if (is_floating(inputs[i].dtype())) inputs[i].set_requires_grad(true);
  std::vector<Tensor> outputs = op.fn(inputs, c.args);
  Tensor loss;
  for (const Tensor& out : outputs) {
    if (!out.requires_grad()) continue;
    Tensor w = ops::to(ops::linspace(-1, 1, out.numel(), out.dtype()), out.device());
    Tensor term = trip::sum(trip::mul(out, trip::reshape(w, out.shape())));
    loss = loss.defined() ? trip::add(loss, term) : term;
  }
  std::vector<Tensor> grads;
  if (!loss.defined()) return grads;
  loss.backward();
  for (const Tensor& x : inputs) grads.push_back(x.requires_grad() ? x.grad() : Tensor());
  return grads;
}

}  // namespace

TEST_CASE("op table: CUDA matches CPU") {
  if (!cuda_available()) {
    MESSAGE("skipped: no usable CUDA device (CPU-vs-CUDA comparisons need one)");
    return;
  }
  int runs = 0;
  for (const OpInfo& op : op_table()) {
    for (const Case& c : op.cases) {
      for (DType dtype : op.dtypes) {
        std::vector<Host> values = input_values(op, c, dtype);
        for (Layout layout : {Layout::contiguous, Layout::strided}) {
          if (layout != Layout::contiguous && !op.strided_inputs) continue;
          INFO(describe(op, c, dtype), " / " + std::string(layout_name(layout)));
          ++runs;
          try {
            std::vector<Tensor> cpu =
                op.fn(make_inputs(op, c, values, dtype, layout, kCPU), c.args);
            std::vector<Tensor> gpu =
                op.fn(make_inputs(op, c, values, dtype, layout, kCuda), c.args);
            REQUIRE(cpu.size() == gpu.size());
            for (size_t i = 0; i < cpu.size(); ++i) {
              CHECK(gpu[i].device() == kCuda);
              std::string err = compare_tensors(gpu[i], cpu[i], op.tol(cpu[i].dtype()));
              CHECK_MESSAGE(err.empty(), "output ", i, ": ", err);
            }
          } catch (const std::exception& e) {
            FAIL_CHECK("threw: " << e.what());
          }
        }
      }
    }
  }
  MESSAGE(runs << " CPU-vs-CUDA runs");
}

TEST_CASE("op table: CUDA gradients match CPU") {
  if (!cuda_available()) {
    MESSAGE("skipped: no usable CUDA device");
    return;
  }
  for (const OpInfo& op : op_table()) {
    if (!op.differentiable) continue;
    for (const Case& c : op.cases) {
      if (!small_enough_for_gradcheck(c)) continue;
      for (DType dtype : {DType::f64, DType::f32}) {
        std::vector<Host> values = input_values(op, c, dtype);
        INFO(describe(op, c, dtype));
        try {
          std::vector<Tensor> cpu =
              input_grads(op, c, make_inputs(op, c, values, dtype, Layout::strided, kCPU));
          std::vector<Tensor> gpu =
              input_grads(op, c, make_inputs(op, c, values, dtype, Layout::strided, kCuda));
          REQUIRE(cpu.size() == gpu.size());
          for (size_t i = 0; i < cpu.size(); ++i) {
            CHECK(cpu[i].defined() == gpu[i].defined());
            if (!cpu[i].defined() || !gpu[i].defined()) continue;
            std::string err = compare_tensors(gpu[i], cpu[i], op.tol(dtype));
            CHECK_MESSAGE(err.empty(), "gradient of input ", i, ": ", err);
          }
        } catch (const std::exception& e) {
          FAIL_CHECK("threw: " << e.what());
        }
      }
    }
  }
}
