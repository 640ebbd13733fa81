// The op table: reductions over dim sets (sum, mean, amax, amin, var, std, norm), max/min/argmax
// along a dim with their indices, softmax and log_softmax along each dim.
#include <cmath>
#include <limits>

#include "tests/op_table_ref.h"

namespace trip::optest {

namespace {

using VecFn = std::function<double(const std::vector<double>&)>;

// Reductions over sets of dims (args.dims, empty = all) with and without keepdim.
std::vector<Case> dim_set_cases(Domain d, bool empty_reduction_ok) {
  std::vector<Case> cases = {
      {"7x13 all", {in({7, 13}, d)}, {.dims = {}}},
      {"7x13 dim 1", {in({7, 13}, d)}, {.dims = {1}}},
      {"7x13 dim -2 keepdim", {in({7, 13}, d)}, {.dims = {-2}, .keepdim = true}},
      {"3x4x5 dims 0,2", {in({3, 4, 5}, d)}, {.dims = {0, 2}}},
      {"3x4x5 dims 2,0 keepdim", {in({3, 4, 5}, d)}, {.dims = {2, 0}, .keepdim = true}},
      {"video dims 1,3,4", {in({2, 3, 4, 5, 6}, d)}, {.dims = {1, 3, 4}}},
      {"video all keepdim", {in({2, 3, 4, 5, 6}, d)}, {.dims = {}, .keepdim = true}},
      {"0-d all", {in({}, d)}, {.dims = {}}},
      {"0-d dim 0 keepdim", {in({}, d)}, {.dims = {0}, .keepdim = true}},
      {"1x5x1 dim 0", {in({1, 5, 1}, d)}, {.dims = {0}}},
      {"0x3 dim 1", {in({0, 3}, d)}, {.dims = {1}}},
      {"specials dim 1", {in({2, 8}, Domain::special)}, {.dims = {1}}, false},
      // Big enough for the parallel paths: one long row in blocks, many rows, inner tiles.
      {"40001 all", {in({40001}, d)}, {.dims = {}}},
      {"257x300 dim 1", {in({257, 300}, d)}, {.dims = {1}}},
      {"8x2500 dim 0", {in({8, 2500}, d)}, {.dims = {0}}},
      // Column reductions split into row chunks (256 rows at <= 128 columns): a partial last
      // chunk, several outer slices, two column tiles with a tail.
      {"600x70 dim 0", {in({600, 70}, d)}, {.dims = {0}}},
      {"3x300x9 dim 1", {in({3, 300, 9}, d)}, {.dims = {1}}},
      {"2x37x1030 dims 0,1", {in({2, 37, 1030}, d)}, {.dims = {0, 1}}},
      {"specials dim 0", {in({8, 2}, Domain::special)}, {.dims = {0}}, false},
  };
  if (empty_reduction_ok) cases.push_back({"0x3 dim 0", {in({0, 3}, d)}, {.dims = {0}}});
  return cases;
}

OpInfo reduction(std::string name,
                 std::function<Tensor(const Tensor&, const Dims&, bool, const Args&)> f, VecFn r,
                 Domain d = Domain::normal, bool empty_reduction_ok = true) {
  OpInfo op;
  op.name = std::move(name);
  op.fn = [f](const std::vector<Tensor>& x, const Args& a) {
    return std::vector<Tensor>{f(x[0], a.dims, a.keepdim, a)};
  };
  op.ref = [r](const std::vector<Host>& x, const Args& a) {
    return std::vector<Host>{ref::reduce(x[0], a.dims, a.keepdim, r)};
  };
  op.cases = dim_set_cases(d, empty_reduction_ok);
  op.tol_scale = 2;
  op.errors = {
      {"dim out of range",
       [f] {
         f(ops::zeros({2, 3}), {2}, false, {});
       },
       "dim 2 out of range"},
      {"repeated dim",
       [f] {
         f(ops::zeros({2, 3}), {1, -1}, false, {});
       },
       "dim 1 repeated"},
  };
  return op;
}

// max/min along one dim: values and the index of the first extreme.
std::vector<Case> one_dim_cases(Domain d) {
  return {
      {"7x13 dim 1", {in({7, 13}, d)}, {.dim = 1}},
      {"7x13 dim 0 keepdim", {in({7, 13}, d)}, {.dim = 0, .keepdim = true}},
      {"video dim 2", {in({2, 3, 4, 5, 6}, d)}, {.dim = 2}},
      {"video dim -1 keepdim", {in({2, 3, 4, 5, 6}, d)}, {.dim = -1, .keepdim = true}},
      {"0-d dim 0", {in({}, d)}, {.dim = 0}},
      {"1x5x1 dim 2", {in({1, 5, 1}, d)}, {.dim = 2}},
      {"0x3 dim 1", {in({0, 3}, d)}, {.dim = 1}},
      {"specials dim 1", {in({2, 8}, Domain::special)}, {.dim = 1}, false},
      {"257x300 dim 1", {in({257, 300}, d)}, {.dim = 1}},
      {"8x2500 dim 0", {in({8, 2500}, d)}, {.dim = 0}},
  };
}

OpInfo arg_extreme(std::string name, bool is_max) {
  OpInfo op;
  op.name = name;
  op.fn = [is_max](const std::vector<Tensor>& x, const Args& a) {
    auto [values, indices] =
        is_max ? trip::max(x[0], a.dim, a.keepdim) : trip::min(x[0], a.dim, a.keepdim);
    return std::vector<Tensor>{values, indices};
  };
  op.ref = [is_max](const std::vector<Host>& x, const Args& a) {
    Dims dims{a.dim};
    return std::vector<Host>{
        ref::reduce(x[0], dims, a.keepdim, is_max ? VecFn(ref::max) : VecFn(ref::min)),
        ref::reduce(x[0], dims, a.keepdim, is_max ? VecFn(ref::argmax) : VecFn(ref::argmin))};
  };
  op.cases = one_dim_cases(Domain::normal);
  op.dtypes = kAllTypes;
  op.out_dtype = [](DType t, int i) { return i == 0 ? t : DType::i64; };
  op.errors = {
      {"dim out of range",
       [is_max] {
         is_max ? trip::max(ops::zeros({2, 3}), -3) : trip::min(ops::zeros({2, 3}), -3);
       },
       name + ": dim -3 out of range"},
      {"empty dim",
       [is_max] {
         is_max ? trip::max(ops::zeros({2, 0}), 1) : trip::min(ops::zeros({2, 0}), 1);
       },
       name + ": cannot reduce over a dim of size 0"},
  };
  return op;
}

std::vector<Case> softmax_cases() {
  return {
      {"7x13 dim 0", {in({7, 13})}, {.dim = 0}},
      {"7x13 dim 1", {in({7, 13})}, {.dim = 1}},
      {"7x13 dim -1", {in({7, 13})}, {.dim = -1}},
      {"video dim 2", {in({2, 3, 4, 5, 6})}, {.dim = 2}},
      {"video dim 4", {in({2, 3, 4, 5, 6})}, {.dim = 4}},
      {"1x5 dim 0", {in({1, 5})}, {.dim = 0}},
      {"0-d dim 0", {in({})}, {.dim = 0}},
      {"0x3 dim 1", {in({0, 3})}, {.dim = 1}},
      {"4x0 dim 1", {in({4, 0})}, {.dim = 1}},
      {"specials dim 1", {in({2, 8}, Domain::special)}, {.dim = 1}, false},
      {"64x1001 dim 1", {in({64, 1001})}, {.dim = 1}},
      {"1001x64 dim 0", {in({1001, 64})}, {.dim = 0}},
  };
}

OpInfo softmax_op(std::string name, bool log) {
  OpInfo op;
  op.name = name;
  op.fn = [log](const std::vector<Tensor>& x, const Args& a) {
    return std::vector<Tensor>{log ? trip::log_softmax(x[0], a.dim) : trip::softmax(x[0], a.dim)};
  };
  op.ref = [log](const std::vector<Host>& x, const Args& a) {
    return std::vector<Host>{ref::along(x[0], a.dim, log ? ref::log_softmax : ref::softmax)};
  };
  op.cases = softmax_cases();
  op.tol_scale = 2;
  op.integer_error = name + ": expected a floating dtype";
  op.errors = {
      {"dim out of range",
       [log] {
         log ? trip::log_softmax(ops::zeros({2, 3}), 2) : trip::softmax(ops::zeros({2, 3}), 2);
       },
       name + ": dim 2 out of range"}};
  return op;
}

}  // namespace

std::vector<OpInfo> reduce_ops() {
  using A = const Args&;
  using T = const Tensor&;
  std::vector<OpInfo> ops;
  ops.push_back(reduction(
      "sum", [](T t, const Dims& d, bool k, A) { return trip::sum(t, d, k); }, ref::sum));
  ops.back().dtypes = kAllTypes;
  ops.back().out_dtype = [](DType t, int) { return is_floating(t) ? t : DType::i64; };

  ops.push_back(reduction(
      "mean", [](T t, const Dims& d, bool k, A) { return trip::mean(t, d, k); }, ref::mean));
  ops.back().integer_error = "mean: expected a floating dtype";

  for (bool is_max : {true, false}) {
    std::string name = is_max ? "amax" : "amin";
    ops.push_back(reduction(
        name,
        [is_max](T t, const Dims& d, bool k, A) {
          return is_max ? trip::amax(t, d, k) : trip::amin(t, d, k);
        },
        is_max ? VecFn(ref::max) : VecFn(ref::min), Domain::normal, /*empty_reduction_ok=*/false));
    ops.back().dtypes = kAllTypes;
    ops.back().errors.push_back(
        {"empty dim",
         [is_max] {
           is_max ? trip::amax(ops::zeros({0, 3}), {0}) : trip::amin(ops::zeros({0, 3}), {0});
         },
         name + ": cannot reduce over a dim of size 0"});
  }

  ops.push_back(arg_extreme("max", true));
  ops.push_back(arg_extreme("min", false));
  OpInfo argmax = arg_extreme("argmax", true);
  argmax.fn = [](const std::vector<Tensor>& x, const Args& a) {
    return std::vector<Tensor>{trip::argmax(x[0], a.dim, a.keepdim)};
  };
  argmax.ref = [](const std::vector<Host>& x, const Args& a) {
    return std::vector<Host>{ref::reduce(x[0], Dims{a.dim}, a.keepdim, ref::argmax)};
  };
  argmax.out_dtype = [](DType, int) { return DType::i64; };
  argmax.differentiable = false;
  argmax.errors = {{"dim out of range",
                    [] {
                      trip::argmax(ops::zeros({2, 3}), 2);
                    },
                    "argmax: dim 2 out of range"},
                   {"empty dim", [] { trip::argmax(ops::zeros({0}), 0); },
                    "argmax: cannot reduce over a dim of size 0"}};
  ops.push_back(argmax);

  // var and std with corrections 0 and 1 (args.ints[0]); n - correction <= 0 gives NaN.
  for (bool is_std : {false, true}) {
    for (int64_t correction : {0, 1}) {
      std::string name =
          std::string(is_std ? "std" : "var") + "(correction=" + std::to_string(correction) + ")";
      ops.push_back(reduction(
          name,
          [is_std, correction](T t, const Dims& d, bool k, A) {
            return is_std ? trip::std(t, d, correction, k) : trip::var(t, d, correction, k);
          },
          [is_std, correction](const std::vector<double>& v) {
            double r = ref::var(v, correction);
            return is_std ? std::sqrt(r) : r;
          }));
      ops.back().tol_scale = 4;  // two passes of roundings (mean, squared deviations)
      ops.back().integer_error = "var: expected a floating dtype";
      // Where the variance is 0 or NaN the derivative of std is not finite.
      for (Case& c : ops.back().cases)
        if (c.name.rfind("0-d", 0) == 0 || c.name.rfind("1x5x1", 0) == 0) c.grad = false;
    }
  }

  // norm for p = 1, 2, 3, inf (args.x), over dim sets.
  for (double p : {1.0, 2.0, 3.0, std::numeric_limits<double>::infinity()}) {
    std::string name =
        "norm(p=" + (std::isinf(p) ? std::string("inf") : std::to_string(int(p))) + ")";
    ops.push_back(reduction(
        name, [p](T t, const Dims& d, bool k, A) { return trip::norm(t, p, d, k); },
        [p](const std::vector<double>& v) { return ref::norm(v, p); }, Domain::smooth,
        /*empty_reduction_ok=*/!std::isinf(p)));
    ops.back().tol_scale = 4;
    ops.back().integer_error = "norm: expected a floating dtype";
  }
  ops.back().errors.push_back(
      {"p = 0", [] { trip::norm(ops::ones({3}), 0.0); }, "norm: p must be positive"});

  // sum_to: the reverse of broadcasting (args.dims is the target shape).
  OpInfo sum_to;
  sum_to.name = "sum_to";
  sum_to.fn = [](const std::vector<Tensor>& x, A a) {
    return std::vector<Tensor>{trip::sum_to(x[0], a.dims)};
  };
  sum_to.ref = [](const std::vector<Host>& x, A a) {
    // Sum over the leading dims and the dims the target has as 1, then drop the leading ones.
    int lead = x[0].shape.size() - a.dims.size();
    Dims dims;
    for (int d = 0; d < x[0].shape.size(); ++d)
      if (d < lead || (a.dims[d - lead] == 1 && x[0].shape[d] != 1)) dims.push_back(d);
    Host out = dims.empty() ? x[0] : ref::reduce(x[0], dims, true, ref::sum);
    out.shape = a.dims;
    return std::vector<Host>{out};
  };
  sum_to.cases = {{"7x13 to 1x13", {in({7, 13})}, {.dims = {1, 13}}},
                  {"7x13 to 13", {in({7, 13})}, {.dims = {13}}},
                  {"7x13 to 0-d", {in({7, 13})}, {.dims = {}}},
                  {"video to 4x1x6", {in({2, 3, 4, 5, 6})}, {.dims = {4, 1, 6}}},
                  {"3x4 to 3x4", {in({3, 4})}, {.dims = {3, 4}}},
                  {"0x3 to 3", {in({0, 3})}, {.dims = {3}}}};
  // Floating only: it serves gradients (for integers a no-op keeps the dtype, a sum gives i64).
  sum_to.tol_scale = 2;
  sum_to.errors = {{"not a broadcast",
                    [] {
                      trip::sum_to(ops::zeros({2, 3}), {4, 3});
                    },
                    "sum_to: shape [4, 3] does not broadcast to [2, 3]"}};
  ops.push_back(sum_to);

  ops.push_back(softmax_op("softmax", false));
  ops.push_back(softmax_op("log_softmax", true));
  return ops;
}

}  // namespace trip::optest
