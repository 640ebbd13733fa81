// The op table: joining, splitting and indexing: cat, stack, split, chunk, index_select, gather,
// scatter_add (with repeated indices), pad (positive and negative) and repeat.
#include <algorithm>

#include "tests/op_table_ref.h"

namespace trip::optest {

namespace {

std::vector<Host> split_ref(const Host& x, int64_t size, int64_t dim) {
  int d = ref::wrap(dim, x.shape.size());
  std::vector<Host> parts;
  for (int64_t start = 0; start < x.shape[d]; start += size)
    parts.push_back(ref::slice(x, d, start, std::min(start + size, x.shape[d]), 1));
  if (parts.empty()) parts.push_back(x);
  return parts;
}

OpInfo entry(std::string name, OpFn f, RefFn r, std::vector<Case> cases,
             std::vector<BadInput> errors) {
  OpInfo op;
  op.name = std::move(name);
  op.fn = std::move(f);
  op.ref = std::move(r);
  op.cases = std::move(cases);
  op.dtypes = kAllTypes;
  op.errors = std::move(errors);
  return op;
}

using X = const std::vector<Tensor>&;
using H = const std::vector<Host>&;
using A = const Args&;
using Out = std::vector<Tensor>;
using HostOut = std::vector<Host>;

}  // namespace

std::vector<OpInfo> index_ops() {
  std::vector<OpInfo> ops;
  ops.push_back(entry(
      "cat", [](X x, A a) { return Out{trip::cat(x, a.dim)}; },
      [](H x, A a) { return HostOut{ref::cat(x, a.dim)}; },
      {{"7x13,7x2 dim 1", {in({7, 13}), in({7, 2})}, {.dim = 1}},
       {"2x5,0x5,4x5 dim 0", {in({2, 5}), in({0, 5}), in({4, 5})}, {.dim = 0}},
       {"video x3 dim -1",
        {in({2, 3, 4, 5, 6}), in({2, 3, 4, 5, 1}), in({2, 3, 4, 5, 2})},
        {.dim = -1}},
       {"video x2 dim 2", {in({2, 3, 4, 5, 6}), in({2, 3, 1, 5, 6})}, {.dim = 2}},
       {"3,4 1-d", {in({3}), in({4})}, {.dim = 0}},
       {"one tensor", {in({3, 2})}, {.dim = 1}}},
      {{"no tensors", [] { trip::cat({}, 0); }, "cat: expected at least one tensor"},
       {"shapes",
        [] {
          trip::cat({ops::zeros({2, 3}), ops::zeros({3, 3})}, 1);
        },
        "differ outside dim 1"},
       {"0-d",
        [] {
          trip::cat({ops::zeros({}), ops::zeros({})}, 0);
        },
        "zero-dimensional"},
       {"dim out of range", [] { trip::cat({ops::zeros({2})}, 1); }, "cat: dim 1 out of range"}}));
  // cat promotes: floating parts with an i32 part.
  ops.push_back(ops.back());
  ops.back().name = "cat(+i32)";
  ops.back().cases = {{"7x3,7x2 i32 dim 1", {in({7, 3}), fixed({7, 2}, DType::i32)}, {.dim = 1}}};
  ops.back().dtypes = kFloating;
  ops.back().errors = {};

  ops.push_back(entry(
      "stack", [](X x, A a) { return Out{trip::stack(x, a.dim)}; },
      [](H x, A a) {
        std::vector<Host> parts;
        for (const Host& h : x) parts.push_back(ref::unsqueeze(h, a.dim));
        return HostOut{ref::cat(parts, a.dim)};
      },
      {{"3 x 4x5 dim 0", {in({4, 5}), in({4, 5}), in({4, 5})}, {.dim = 0}},
       {"2 x 4x5 dim 1", {in({4, 5}), in({4, 5})}, {.dim = 1}},
       {"2 x 4x5 dim -1", {in({4, 5}), in({4, 5})}, {.dim = -1}},
       {"3 x 0-d", {in({}), in({}), in({})}, {.dim = 0}},
       {"2 x 0x3 dim 1", {in({0, 3}), in({0, 3})}, {.dim = 1}}},
      {{"shapes",
        [] {
          trip::stack({ops::zeros({2}), ops::zeros({3})}, 0);
        },
        "stack: tensor 1 has shape [3]"},
       {"dim out of range", [] { trip::stack({ops::zeros({2})}, 2); },
        "stack: dim 2 out of range"}}));

  // split and chunk: several outputs (views); args.ints[0] is the size or the count.
  std::vector<Case> split_cases = {
      {"7x13 by 5 dim 1", {in({7, 13})}, {.dim = 1, .ints = {5}}},
      {"video by 2 dim 2", {in({2, 3, 4, 5, 6})}, {.dim = 2, .ints = {2}}},
      {"7x13 by 9 dim 0", {in({7, 13})}, {.dim = 0, .ints = {9}}},
      {"7 by 1", {in({7})}, {.dim = -1, .ints = {1}}},
      {"0x3 by 2 dim 0", {in({0, 3})}, {.dim = 0, .ints = {2}}}};
  ops.push_back(entry(
      "split", [](X x, A a) { return trip::split(x[0], a.ints[0], a.dim); },
      [](H x, A a) { return split_ref(x[0], a.ints[0], a.dim); }, split_cases,
      {{"size 0", [] { trip::split(ops::zeros({4}), 0, 0); },
        "split: split_size must be positive"}}));
  std::vector<Case> chunk_cases = {
      {"7x13 in 3 dim 1", {in({7, 13})}, {.dim = 1, .ints = {3}}},
      {"6 in 4", {in({6})}, {.dim = 0, .ints = {4}}},
      {"video in 5 dim -1", {in({2, 3, 4, 5, 6})}, {.dim = -1, .ints = {5}}},
      {"7 in 7", {in({7})}, {.dim = 0, .ints = {7}}},
      {"2x3 in 8 dim 0", {in({2, 3})}, {.dim = 0, .ints = {8}}}};
  ops.push_back(entry(
      "chunk", [](X x, A a) { return trip::chunk(x[0], a.ints[0], a.dim); },
      [](H x, A a) {
        int64_t n = x[0].shape[ref::wrap(a.dim, x[0].shape.size())];
        return split_ref(x[0], std::max<int64_t>((n + a.ints[0] - 1) / a.ints[0], 1), a.dim);
      },
      chunk_cases,
      {{"0 chunks", [] { trip::chunk(ops::zeros({4}), 0, 0); },
        "chunk: chunks must be positive"}}));

  ops.push_back(entry(
      "index_select", [](X x, A a) { return Out{trip::index_select(x[0], a.dim, x[1])}; },
      [](H x, A a) { return HostOut{ref::index_select(x[0], a.dim, x[1])}; },
      {{"7x13 dim 1 by 20 (repeats)", {in({7, 13}), index({20}, 13)}, {.dim = 1}},
       {"7x13 dim 0 by 3", {in({7, 13}), index({3}, 7)}, {.dim = 0}},
       {"video dim 3 by 4", {in({2, 3, 4, 5, 6}), index({4}, 5)}, {.dim = 3}},
       {"7x13 dim -1 by 0-d", {in({7, 13}), index({}, 13)}, {.dim = -1}},
       {"7x13 dim 0 by empty", {in({7, 13}), index({0}, 7)}, {.dim = 0}},
       {"0-d by 0-d", {in({}), index({}, 1)}, {.dim = 0}}},
      {{"2-d index",
        [] {
          trip::index_select(ops::zeros({3}), 0, ops::zeros({1, 1}, DType::i64));
        },
        "index_select: index must be 0-d or 1-d"},
       {"out of range",
        [] { trip::index_select(ops::zeros({3}), 0, ops::full({1}, 3, DType::i64)); },
        "index_select: index 3 at position 0 is out of range for size 3"},
       {"float index", [] { trip::index_select(ops::zeros({3}), 0, ops::zeros({1})); },
        "index_select: index must be i64 or i32"}}));

  ops.push_back(entry(
      "gather", [](X x, A a) { return Out{trip::gather(x[0], a.dim, x[1])}; },
      [](H x, A a) { return HostOut{ref::gather(x[0], a.dim, x[1])}; },
      {{"7x13 dim 1 by 7x4", {in({7, 13}), index({7, 4}, 13)}, {.dim = 1}},
       {"7x13 dim 0 by 10x13", {in({7, 13}), index({10, 13}, 7)}, {.dim = 0}},
       {"video dim 2 by 2x3x6x5x6", {in({2, 3, 4, 5, 6}), index({2, 3, 6, 5, 6}, 4)}, {.dim = 2}},
       {"7x13 dim -1 by 7x0", {in({7, 13}), index({7, 0}, 13)}, {.dim = -1}}},
      {{"rank",
        [] {
          trip::gather(ops::zeros({3, 2}), 0, ops::zeros({3}, DType::i64));
        },
        "gather: index has 1 dims, tensor has 2"},
       {"shape",
        [] {
          trip::gather(ops::zeros({3, 2}), 0, ops::zeros({3, 3}, DType::i64));
        },
        "gather: index shape [3, 3] must match tensor shape [3, 2] outside dim 0"},
       {"out of range",
        [] {
          trip::gather(ops::zeros({3, 2}), 1, ops::full({3, 1}, -3, DType::i64));
        },
        "gather: index -3 at position 0 is out of range for size 2"}}));

  ops.push_back(entry(
      "scatter_add", [](X x, A a) { return Out{trip::scatter_add(x[0], a.dim, x[1], x[2])}; },
      [](H x, A a) { return HostOut{ref::scatter_add(x[0], a.dim, x[1], x[2])}; },
      {{"7x13 dim 1 by 7x20 (repeats)", {in({7, 13}), index({7, 20}, 13), in({7, 20})}, {.dim = 1}},
       {"5x4 dim 0 by 12x4 (repeats)", {in({5, 4}), index({12, 4}, 3), in({12, 4})}, {.dim = 0}},
       {"video dim 2",
        {in({2, 3, 4, 5, 6}), index({2, 3, 9, 5, 6}, 4), in({2, 3, 9, 5, 6})},
        {.dim = 2}},
       {"7x13 dim -1 by 7x0", {in({7, 13}), index({7, 0}, 13), in({7, 0})}, {.dim = -1}}},
      {{"index vs src",
        [] { trip::scatter_add(ops::zeros({3}), 0, ops::zeros({2}, DType::i64), ops::zeros({3})); },
        "scatter_add: index shape [2] differs from src shape [3]"},
       {"out of range",
        [] {
          trip::scatter_add(ops::zeros({3}), 0, ops::full({2}, 5, DType::i64), ops::zeros({2}));
        },
        "scatter_add: index 5 at position 0 is out of range for size 3"}}));
  // Repeated indices accumulate in the output dtype, one rounding per addition (as PyTorch does),
  // so 16-bit results drift by a few units in the last place.
  ops.back().tol_scale = 8;

  ops.push_back(entry(
      "pad", [](X x, A a) { return Out{trip::pad(x[0], a.ints, a.x)}; },
      [](H x, A a) { return HostOut{ref::pad(x[0], a.ints, a.x)}; },
      {{"7x13 (1,2)", {in({7, 13})}, {.ints = {1, 2}}},
       {"7x13 (1,2,3,0) value -1.5", {in({7, 13})}, {.x = -1.5, .ints = {1, 2, 3, 0}}},
       {"video (1,1,0,2,2,0)", {in({2, 3, 4, 5, 6})}, {.ints = {1, 1, 0, 2, 2, 0}}},
       {"7x13 (-2,1) crops", {in({7, 13})}, {.ints = {-2, 1}}},
       {"7x13 (-1,-1,1,-2)", {in({7, 13})}, {.x = 3, .ints = {-1, -1, 1, -2}}},
       {"0-d ()", {in({})}, {.ints = {}}},
       {"0x3 (1,1,2,0)", {in({0, 3})}, {.ints = {1, 1, 2, 0}}}},
      {{"odd count", [] { trip::pad(ops::zeros({3}), {1}); },
        "pad: expected (before, after) pairs"},
       {"too negative",
        [] {
          trip::pad(ops::zeros({3}), {-2, -2});
        },
        "pad: padding -2 makes dim 0 of shape [3] negative"}}));

  ops.push_back(entry(
      "repeat", [](X x, A a) { return Out{trip::repeat(x[0], a.dims)}; },
      [](H x, A a) { return HostOut{ref::repeat(x[0], a.dims)}; },
      {{"7x13 (2,3)", {in({7, 13})}, {.dims = {2, 3}}},
       {"3 (2,1,3)", {in({3})}, {.dims = {2, 1, 3}}},
       {"0-d (4)", {in({})}, {.dims = {4}}},
       {"video (1,2,1,1,2)", {in({2, 3, 4, 5, 6})}, {.dims = {1, 2, 1, 1, 2}}},
       {"2x3 (0,2)", {in({2, 3})}, {.dims = {0, 2}}},
       {"2x3 (1,1)", {in({2, 3})}, {.dims = {1, 1}}}},
      {{"too few",
        [] {
          trip::repeat(ops::zeros({2, 3}), {2});
        },
        "repeat: 1 repeats given for a 2-d tensor"},
       {"negative", [] { trip::repeat(ops::zeros({2}), {-1}); },
        "repeat: negative repeat count -1"}}));
  return ops;
}

}  // namespace trip::optest
