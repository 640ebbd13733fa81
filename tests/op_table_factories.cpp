// The op table: factories (zeros, ones, full, their _like forms, arange, linspace) and
// scalar_like. Factories take no tensor, so each case passes one 0-d input whose dtype and device
// the factory copies: the generic checks then cover every dtype and, on a GPU, the device.
#include <cmath>

#include "tests/op_table_ref.h"

namespace trip::optest {

namespace {

using A = const Args&;

OpInfo factory(std::string name, std::function<Tensor(const Tensor& like, A)> f,
               std::function<Host(const Host& like, A)> r, std::vector<Case> cases,
               std::vector<BadInput> errors = {}) {
  OpInfo op;
  op.name = std::move(name);
  op.fn = [f](const std::vector<Tensor>& x, A a) { return std::vector<Tensor>{f(x[0], a)}; };
  op.ref = [r](const std::vector<Host>& x, A a) { return std::vector<Host>{r(x[0], a)}; };
  op.cases = std::move(cases);
  op.dtypes = kAllTypes;
  op.differentiable = false;
  op.errors = std::move(errors);
  return op;
}

Host filled(const Dims& shape, double value) {
  return ref::build(shape, [&](const ref::Index&) { return value; });
}

const std::vector<Case> kLikeCases = {
    {"7x13", {in({7, 13})}, {.x = 2.5}},
    {"0-d", {in({})}, {.x = -3}},
    {"0x3", {in({0, 3})}, {.x = 1}},
    {"video", {in({2, 3, 4, 5, 6})}, {.x = 7}},
};

// The shape is args.dims; input 0 only lends its dtype and device.
const std::vector<Case> kShapeCases = {
    {"7x13", {in({})}, {.dims = {7, 13}, .x = 2.5}},
    {"0-d", {in({})}, {.dims = {}, .x = -3}},
    {"0x3", {in({})}, {.dims = {0, 3}, .x = 1}},
    {"100003", {in({})}, {.dims = {100003}, .x = -0.5}},
};

}  // namespace

std::vector<OpInfo> factory_ops() {
  std::vector<OpInfo> ops;
  ops.push_back(factory(
      "zeros_like", [](const Tensor& t, A) { return trip::zeros_like(t); },
      [](const Host& t, A) { return filled(t.shape, 0); }, kLikeCases));
  ops.push_back(factory(
      "ones_like", [](const Tensor& t, A) { return trip::ones_like(t); },
      [](const Host& t, A) { return filled(t.shape, 1); }, kLikeCases));
  ops.push_back(factory(
      "full_like", [](const Tensor& t, A a) { return trip::full_like(t, a.x); },
      [](const Host& t, A a) { return filled(t.shape, a.x); }, kLikeCases));
  ops.push_back(factory(
      "zeros", [](const Tensor& t, A a) { return trip::zeros(a.dims, t.options()); },
      [](const Host&, A a) { return filled(a.dims, 0); }, kShapeCases,
      {{"negative size",
        [] {
          trip::zeros({2, -1});
        },
        "negative size in shape [2, -1]"}}));
  ops.push_back(factory(
      "ones", [](const Tensor& t, A a) { return trip::ones(a.dims, t.options()); },
      [](const Host&, A a) { return filled(a.dims, 1); }, kShapeCases));
  ops.push_back(factory(
      "full", [](const Tensor& t, A a) { return trip::full(a.dims, a.x, t.options()); },
      [](const Host&, A a) { return filled(a.dims, a.x); }, kShapeCases));

  // arange(x, y, z): values computed in double, then converted once.
  ops.push_back(factory(
      "arange", [](const Tensor& t, A a) { return trip::arange(a.x, a.y, a.z, t.options()); },
      [](const Host&, A a) {
        int64_t n = std::max<int64_t>(0, int64_t(std::ceil((a.y - a.x) / a.z)));
        return ref::build({n}, [&](const ref::Index& i) { return a.x + double(i[0]) * a.z; });
      },
      {{"0:5:1", {in({})}, {.x = 0, .y = 5, .z = 1}},
       {"0:1:0.25", {in({})}, {.x = 0, .y = 1, .z = 0.25}},
       {"5:0:-1.5", {in({})}, {.x = 5, .y = 0, .z = -1.5}},
       {"-3:3:0.7", {in({})}, {.x = -3, .y = 3, .z = 0.7}},
       {"2:2:1 (empty)", {in({})}, {.x = 2, .y = 2, .z = 1}},
       {"0:1:1:-1 (empty)", {in({})}, {.x = 0, .y = 1, .z = -1}}},
      {{"step 0", [] { trip::arange(0, 1, 0); }, "arange: step must be non-zero"}}));

  // linspace(x, y, steps = dims[0]): evenly spaced, both ends included.
  ops.push_back(factory(
      "linspace",
      [](const Tensor& t, A a) { return trip::linspace(a.x, a.y, a.dims[0], t.options()); },
      [](const Host&, A a) {
        int64_t n = a.dims[0];
        return ref::build({n}, [&](const ref::Index& i) {
          return n == 1 ? a.x : a.x + (a.y - a.x) * double(i[0]) / double(n - 1);
        });
      },
      {{"0..1 in 5", {in({})}, {.dims = {5}, .x = 0, .y = 1}},
       {"-2..3 in 7", {in({})}, {.dims = {7}, .x = -2, .y = 3}},
       {"4..-4 in 9", {in({})}, {.dims = {9}, .x = 4, .y = -4}},
       {"1..1 in 1", {in({})}, {.dims = {1}, .x = 1, .y = 1}},
       {"0..1 in 0", {in({})}, {.dims = {0}, .x = 0, .y = 1}}},
      {{"negative steps", [] { trip::linspace(0, 1, -1); },
        "linspace: steps must be non-negative, got -1"}}));

  // scalar_like: the dtype a scalar takes in a binary op with `like` (PyTorch's rule).
  ops.push_back(factory(
      "scalar_like", [](const Tensor& t, A a) { return trip::scalar_like(a.x, t); },
      [](const Host&, A a) { return ref::scalar(a.x); },
      {{"2.5", {in({7, 13})}, {.x = 2.5}}, {"-0.5", {in({})}, {.x = -0.5}}}));
  ops.back().out_dtype = [](DType t, int) { return is_floating(t) ? t : DType::f32; };
  ops.push_back(ops.back());
  ops.back().name = "scalar_like(integral)";
  ops.back().out_dtype = nullptr;  // an integral value keeps the tensor's dtype
  ops.back().cases = {{"-3", {in({2})}, {.x = -3}}, {"0", {in({})}, {.x = 0}}};
  return ops;
}

}  // namespace trip::optest
