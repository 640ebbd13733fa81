// The op table: views and layout (reshape, view, permute, transpose, narrow, slice, select,
// expand, squeeze, unsqueeze, flatten), contiguous, clone and dtype conversion. Results are read
// back through their (often non-contiguous) geometry, so wrong strides or offsets show.
#include <algorithm>

#include "tests/op_table_ref.h"

namespace trip::optest {

namespace {

using OneFn = std::function<Tensor(const Tensor&, const Args&)>;
using OneRef = std::function<Host(const Host&, const Args&)>;

OpInfo view_op(std::string name, OneFn f, OneRef r, std::vector<Case> cases,
               std::vector<BadInput> errors = {}) {
  OpInfo op;
  op.name = std::move(name);
  op.fn = [f](const std::vector<Tensor>& x, const Args& a) {
    return std::vector<Tensor>{f(x[0], a)};
  };
  op.ref = [r](const std::vector<Host>& x, const Args& a) { return std::vector<Host>{r(x[0], a)}; };
  op.cases = std::move(cases);
  op.dtypes = kAllTypes;
  op.errors = std::move(errors);
  return op;
}

Host identity(const Host& x, const Args&) { return x; }

// Python slice semantics: negative bounds count from the end, then clamp into [0, n].
Host python_slice(const Host& x, const Args& a) {
  int d = ref::wrap(a.ints[0], x.shape.size());
  int64_t n = x.shape[d], start = a.ints[1], end = a.ints[2];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  return ref::slice(x, d, start, end, a.ints[3]);
}

Host squeeze_all(const Host& x, const Args&) {
  Dims shape;
  for (int64_t s : x.shape)
    if (s != 1) shape.push_back(s);
  return Host{shape, x.v};
}

Host flatten(const Host& x, const Args& a) {
  if (x.shape.size() == 0) return Host{{1}, x.v};
  int s = ref::wrap(a.ints[0], x.shape.size()), e = ref::wrap(a.ints[1], x.shape.size());
  Dims shape;
  for (int i = 0; i < x.shape.size(); ++i) {
    if (i <= s || i > e)
      shape.push_back(x.shape[i]);
    else
      shape[shape.size() - 1] *= x.shape[i];
  }
  return Host{shape, x.v};
}

const std::vector<Case> kPlainCases = {
    {"7x13", {in({7, 13})}},          {"0-d", {in({})}},
    {"1x5x1", {in({1, 5, 1})}},       {"0x3", {in({0, 3})}},
    {"video", {in({2, 3, 4, 5, 6})}},
};

// to(dtype): the reference is the value itself, rounded to the target by the comparison.
OpInfo to_dtype(DType target) {
  OpInfo op = view_op(
      "to(" + std::string(dtype_name(target)) + ")",
      [target](const Tensor& x, const Args&) { return trip::to(x, target); }, identity,
      kPlainCases);
  op.out_dtype = [target](DType, int) { return target; };
  // Only to(f64) is differentiable at float64 precision; the gradient of the others is checked
  // through ops that use them.
  op.differentiable = target == DType::f64;
  return op;
}

}  // namespace

std::vector<OpInfo> view_ops() {
  using T = const Tensor&;
  using A = const Args&;
  std::vector<OpInfo> ops;
  ops.push_back(view_op(
      "reshape", [](T x, A a) { return trip::reshape(x, a.dims); },
      [](const Host& x, A a) { return ref::reshape(x, a.dims); },
      {{"7x13 to 13x7", {in({7, 13})}, {.dims = {13, 7}}},
       {"video to 6x-1", {in({2, 3, 4, 5, 6})}, {.dims = {6, -1}}},
       {"video to 2x3x20x6", {in({2, 3, 4, 5, 6})}, {.dims = {2, 3, 20, 6}}},
       {"0-d to 1x1", {in({})}, {.dims = {1, 1}}},
       {"1 to 0-d", {in({1})}, {.dims = {}}},
       {"0x3 to 3x0", {in({0, 3})}, {.dims = {3, 0}}}},
      {{"element count",
        [] {
          trip::reshape(ops::zeros({2, 3}), {4, 2});
        },
        "reshape: shape [4, 2] is invalid for a tensor of 6 elements"},
       {"two -1",
        [] {
          trip::reshape(ops::zeros({2, 3}), {-1, -1});
        },
        "only one dim may be -1"}}));
  ops.push_back(ops.back());
  ops.back().name = "view";
  ops.back().fn = [](const std::vector<Tensor>& x, A a) {
    return std::vector<Tensor>{trip::view(x[0], a.dims)};
  };
  ops.back().strided_inputs = false;  // a view of a transposed tensor must fail: see errors
  ops.back().errors = {{"needs a copy",
                        [] {
                          trip::view(ops::transpose(ops::zeros({2, 3}), 0, 1), {6});
                        },
                        "without a copy"}};
  ops.push_back(view_op(
      "permute", [](T x, A a) { return trip::permute(x, a.dims); },
      [](const Host& x, A a) { return ref::permute(x, a.dims); },
      {{"7x13 1,0", {in({7, 13})}, {.dims = {1, 0}}},
       {"video 4,0,2,-4,3", {in({2, 3, 4, 5, 6})}, {.dims = {4, 0, 2, -4, 3}}},
       {"0-d", {in({})}, {.dims = {}}},
       {"0x3x1 2,1,0", {in({0, 3, 1})}, {.dims = {2, 1, 0}}}},
      {{"repeated dim",
        [] {
          trip::permute(ops::zeros({2, 3}), {1, 1});
        },
        "permute: dim 1 repeated"},
       {"dim count",
        [] {
          trip::permute(ops::zeros({2, 3}), {0});
        },
        "permute: 1 dims given for a 2-d tensor"}}));
  ops.push_back(view_op(
      "transpose", [](T x, A a) { return trip::transpose(x, a.ints[0], a.ints[1]); },
      [](const Host& x, A a) { return ref::transpose(x, a.ints[0], a.ints[1]); },
      {{"7x13 0,1", {in({7, 13})}, {.ints = {0, 1}}},
       {"video 1,-1", {in({2, 3, 4, 5, 6})}, {.ints = {1, -1}}},
       {"video 2,2", {in({2, 3, 4, 5, 6})}, {.ints = {2, 2}}},
       {"0-d 0,-1", {in({})}, {.ints = {0, -1}}}},
      {{"dim out of range",
        [] {
          trip::transpose(ops::zeros({2, 3}), 0, 2);
        },
        "transpose: dim 2 out of range"}}));
  ops.push_back(view_op(
      "narrow", [](T x, A a) { return trip::narrow(x, a.ints[0], a.ints[1], a.ints[2]); },
      [](const Host& x, A a) {
        int d = ref::wrap(a.ints[0], x.shape.size());
        int64_t start = a.ints[1] < 0 ? a.ints[1] + x.shape[d] : a.ints[1];
        return ref::slice(x, d, start, start + a.ints[2], 1);
      },
      {{"7x13 dim 1 2+5", {in({7, 13})}, {.ints = {1, 2, 5}}},
       {"video dim 0 1+1", {in({2, 3, 4, 5, 6})}, {.ints = {0, 1, 1}}},
       {"video dim -2 start -3 len 2", {in({2, 3, 4, 5, 6})}, {.ints = {-2, -3, 2}}},
       {"7x13 length 0", {in({7, 13})}, {.ints = {0, 7, 0}}}},
      {{"out of bounds",
        [] {
          trip::narrow(ops::zeros({2, 3}), 1, 2, 2);
        },
        "narrow: range [2, 4) out of bounds for dim 1 of size 3"}}));
  ops.push_back(view_op(
      "slice", [](T x, A a) { return trip::slice(x, a.ints[0], a.ints[1], a.ints[2], a.ints[3]); },
      python_slice,
      {{"7x13 dim 1 1:12:2", {in({7, 13})}, {.ints = {1, 1, 12, 2}}},
       {"video dim 2 0:4:3", {in({2, 3, 4, 5, 6})}, {.ints = {2, 0, 4, 3}}},
       {"7x13 dim 0 -5:-1:1", {in({7, 13})}, {.ints = {0, -5, -1, 1}}},
       {"7x13 dim -1 2:100:3", {in({7, 13})}, {.ints = {-1, 2, 100, 3}}},
       {"7x13 dim 0 5:2:1 (empty)", {in({7, 13})}, {.ints = {0, 5, 2, 1}}}},
      {{"step 0", [] { trip::slice(ops::zeros({4}), 0, 0, 4, 0); }, "slice: step must be positive"},
       {"0-d", [] { trip::slice(ops::zeros({}), 0, 0, 1, 1); },
        "slice: cannot slice a 0-d tensor"}}));
  ops.push_back(view_op(
      "select", [](T x, A a) { return trip::select(x, a.ints[0], a.ints[1]); },
      [](const Host& x, A a) { return ref::select(x, a.ints[0], a.ints[1]); },
      {{"7x13 dim 0 index 3", {in({7, 13})}, {.ints = {0, 3}}},
       {"7x13 dim 1 index -1", {in({7, 13})}, {.ints = {1, -1}}},
       {"video dim 2 index 2", {in({2, 3, 4, 5, 6})}, {.ints = {2, 2}}},
       {"5 to 0-d", {in({5})}, {.ints = {0, 4}}}},
      {{"index out of range",
        [] {
          trip::select(ops::zeros({2, 3}), 1, 3);
        },
        "select: index 3 out of range for dim 1 of size 3"}}));
  ops.push_back(view_op(
      "expand", [](T x, A a) { return trip::expand(x, a.dims); },
      [](const Host& x, A a) { return ref::expand(x, a.dims); },
      {{"7x1 to 7x13", {in({7, 1})}, {.dims = {7, 13}}},
       {"3 to 2x4x3", {in({3})}, {.dims = {2, 4, 3}}},
       {"1x5x1 to -1,-1,4", {in({1, 5, 1})}, {.dims = {2, -1, -1, 4}}},
       {"0-d to 3x2", {in({})}, {.dims = {3, 2}}},
       {"1x3 to 0x3", {in({1, 3})}, {.dims = {0, 3}}}},
      {{"cannot expand", [] { trip::expand(ops::zeros({2}), {3}); },
        "expand: cannot expand shape [2] to [3]"}}));
  ops.push_back(view_op("squeeze", [](T x, A) { return trip::squeeze(x); }, squeeze_all,
                        {{"1x5x1", {in({1, 5, 1})}},
                         {"1x1", {in({1, 1})}},
                         {"0-d", {in({})}},
                         {"7x13", {in({7, 13})}}}));
  ops.push_back(view_op(
      "squeeze(dim)", [](T x, A a) { return trip::squeeze(x, a.dim); },
      [](const Host& x, A a) {
        if (x.shape.size() == 0) return x;
        int d = ref::wrap(a.dim, x.shape.size());
        return x.shape[d] == 1 ? ref::select(x, d, 0) : x;
      },
      {{"1x5x1 dim 2", {in({1, 5, 1})}, {.dim = 2}},
       {"1x5x1 dim 1 (not 1)", {in({1, 5, 1})}, {.dim = 1}},
       {"1x5x1 dim -3", {in({1, 5, 1})}, {.dim = -3}},
       {"0-d", {in({})}, {.dim = 0}}},
      {{"dim out of range",
        [] {
          trip::squeeze(ops::zeros({1, 2}), 2);
        },
        "squeeze: dim 2 out of range"}}));
  ops.push_back(view_op(
      "unsqueeze", [](T x, A a) { return trip::unsqueeze(x, a.dim); },
      [](const Host& x, A a) { return ref::unsqueeze(x, a.dim); },
      {{"7x13 dim 0", {in({7, 13})}, {.dim = 0}},
       {"7x13 dim -1", {in({7, 13})}, {.dim = -1}},
       {"7x13 dim 1", {in({7, 13})}, {.dim = 1}},
       {"0-d dim 0", {in({})}, {.dim = 0}}},
      {{"dim out of range",
        [] {
          trip::unsqueeze(ops::zeros({2, 3}), 3);
        },
        "unsqueeze: dim 3 out of range"}}));
  ops.push_back(view_op("flatten", [](T x, A a) { return trip::flatten(x, a.ints[0], a.ints[1]); },
                        flatten,
                        {{"video 1..3", {in({2, 3, 4, 5, 6})}, {.ints = {1, 3}}},
                         {"video all", {in({2, 3, 4, 5, 6})}, {.ints = {0, -1}}},
                         {"7x13 1..1", {in({7, 13})}, {.ints = {1, 1}}},
                         {"0-d", {in({})}, {.ints = {0, -1}}}},
                        {{"start after end",
                          [] {
                            trip::flatten(ops::zeros({2, 3, 4}), 2, 1);
                          },
                          "flatten: start_dim 2 after end_dim 1"}}));
  ops.push_back(view_op(
      "contiguous", [](T x, A) { return trip::contiguous(x); }, identity, kPlainCases));
  ops.push_back(view_op(
      "clone", [](T x, A) { return trip::clone(x); }, identity, kPlainCases));
  for (DType target : kAllTypes) ops.push_back(to_dtype(target));
  ops.push_back(to_dtype(DType::boolean));
  return ops;
}

}  // namespace trip::optest
