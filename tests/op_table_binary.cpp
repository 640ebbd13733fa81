// The op table: binary elementwise ops (every BinaryOp, tensor-tensor and with a scalar on either
// side), where, masked_fill, dtype promotion and the in-place ops (forward only).
#include <cmath>

#include "tests/op_table_ref.h"

namespace trip::optest {

namespace {

using F2 = std::function<Tensor(const Tensor&, const Tensor&)>;
using R2 = std::function<double(double, double)>;

// Same shapes, broadcasting both ways, 0-d on either side, 5-d video against its last dims,
// empty, special values (ties, inf, NaN), and one large enough to split across threads.
std::vector<Case> binary_cases(Domain da, Domain db) {
  return {
      {"7x13,7x13", {in({7, 13}, da), in({7, 13}, db)}},
      {"7x1,1x13", {in({7, 1}, da), in({1, 13}, db)}},
      {"4x1x5,3x1", {in({4, 1, 5}, da), in({3, 1}, db)}},
      {"0-d,7x13", {in({}, da), in({7, 13}, db)}},
      {"7x13,0-d", {in({7, 13}, da), in({}, db)}},
      {"video,5x6", {in({2, 3, 4, 5, 6}, da), in({5, 6}, db)}},
      {"0x3,3", {in({0, 3}, da), in({3}, db)}},
      {"specials", {in({4, 8}, Domain::special), in({4, 8}, Domain::special)}, {}, false},
      {"100003,100003", {in({100003}, da), in({100003}, db)}},
  };
}

// Integer inputs: `int_out` says what integer results become (the same dtype, bool, or f32).
enum class IntOut { same, boolean, f32 };

OpInfo binary(std::string name, F2 f, R2 r, Domain da = Domain::normal, Domain db = Domain::normal,
              IntOut int_out = IntOut::same) {
  OpInfo op;
  op.name = std::move(name);
  op.fn = [f](const std::vector<Tensor>& x, const Args&) {
    return std::vector<Tensor>{f(x[0], x[1])};
  };
  op.ref = [r](const std::vector<Host>& x, const Args&) {
    return std::vector<Host>{ref::zip(x[0], x[1], r)};
  };
  op.cases = binary_cases(da, db);
  op.dtypes = kAllTypes;
  op.differentiable = int_out != IntOut::boolean;
  op.out_dtype = [int_out](DType t, int) {
    if (int_out == IntOut::boolean) return DType::boolean;
    return is_floating(t) || int_out == IntOut::same ? t : DType::f32;
  };
  op.errors = {
      {"shapes that do not broadcast",
       [f] {
         f(ops::zeros({2, 3}), ops::zeros({4, 3}));
       },
       "shapes [2, 3] and [4, 3] cannot be broadcast"},
  };
  return op;
}

// A tensor with a scalar on one side; the scalar is args.x.
OpInfo with_scalar(std::string name, std::function<Tensor(const Tensor&, double)> f, R2 r,
                   double scalar, Domain d = Domain::normal, IntOut int_out = IntOut::same) {
  OpInfo op;
  op.name = std::move(name);
  op.fn = [f, scalar](const std::vector<Tensor>& x, const Args&) {
    return std::vector<Tensor>{f(x[0], scalar)};
  };
  op.ref = [r, scalar](const std::vector<Host>& x, const Args&) {
    return std::vector<Host>{ref::map(x[0], [&](double v) { return r(v, scalar); })};
  };
  op.cases = {{"7x13", {in({7, 13}, d)}},
              {"0-d", {in({}, d)}},
              {"video", {in({2, 3, 4, 5, 6}, d)}},
              {"specials", {in({3, 16}, Domain::special)}, {}, false}};
  op.dtypes = kAllTypes;
  op.differentiable = int_out != IntOut::boolean;
  op.out_dtype = [int_out](DType t, int) {
    if (int_out == IntOut::boolean) return DType::boolean;
    return is_floating(t) || int_out == IntOut::same ? t : DType::f32;
  };
  return op;
}

double maximum(double a, double b) { return std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b); }
double minimum(double a, double b) { return std::isnan(a) || std::isnan(b) ? NAN : std::min(a, b); }

// An in-place op: applied to (a view of) input 0, which is the result.
OpInfo in_place(std::string name, std::function<void(const std::vector<Tensor>&, const Args&)> f,
                RefFn r, std::vector<Case> cases) {
  OpInfo op;
  op.name = std::move(name);
  op.fn = [f](const std::vector<Tensor>& x, const Args& a) {
    f(x, a);
    return std::vector<Tensor>{x[0]};
  };
  op.ref = std::move(r);
  op.cases = std::move(cases);
  op.dtypes = kAllTypes;
  op.differentiable = false;
  op.in_place = true;
  return op;
}

}  // namespace

std::vector<OpInfo> binary_ops() {
  constexpr Domain normal = Domain::normal, positive = Domain::positive, smooth = Domain::smooth;
  using T = const Tensor&;
  std::vector<OpInfo> ops = {
      binary(
          "add", [](T a, T b) { return trip::add(a, b); },
          [](double a, double b) { return a + b; }),
      binary(
          "sub", [](T a, T b) { return trip::sub(a, b); },
          [](double a, double b) { return a - b; }),
      binary(
          "mul", [](T a, T b) { return trip::mul(a, b); },
          [](double a, double b) { return a * b; }),
      binary(
          "div", [](T a, T b) { return trip::div(a, b); }, [](double a, double b) { return a / b; },
          normal, smooth, IntOut::f32),
      binary(
          "maximum", [](T a, T b) { return trip::maximum(a, b); }, maximum),
      binary(
          "minimum", [](T a, T b) { return trip::minimum(a, b); }, minimum),
      binary(
          "pow", [](T a, T b) { return trip::pow(a, b); },
          [](double a, double b) { return std::pow(a, b); }, positive, normal, IntOut::f32),
      binary(
          "eq", [](T a, T b) { return trip::eq(a, b); },
          [](double a, double b) { return double(a == b); }, normal, normal, IntOut::boolean),
      binary(
          "ne", [](T a, T b) { return trip::ne(a, b); },
          [](double a, double b) { return double(a != b); }, normal, normal, IntOut::boolean),
      binary(
          "lt", [](T a, T b) { return trip::lt(a, b); },
          [](double a, double b) { return double(a < b); }, normal, normal, IntOut::boolean),
      binary(
          "le", [](T a, T b) { return trip::le(a, b); },
          [](double a, double b) { return double(a <= b); }, normal, normal, IntOut::boolean),
      binary(
          "gt", [](T a, T b) { return trip::gt(a, b); },
          [](double a, double b) { return double(a > b); }, normal, normal, IntOut::boolean),
      binary(
          "ge", [](T a, T b) { return trip::ge(a, b); },
          [](double a, double b) { return double(a >= b); }, normal, normal, IntOut::boolean),
      binary(
          "operator*", [](T a, T b) { return a * b; }, [](double a, double b) { return a * b; }),

      with_scalar(
          "add(t,-2)", [](T a, double s) { return trip::add(a, s); },
          [](double a, double s) { return a + s; }, -2),
      with_scalar(
          "add(t,2.5)", [](T a, double s) { return trip::add(a, s); },
          [](double a, double s) { return a + s; }, 2.5, normal, IntOut::f32),
      with_scalar(
          "sub(1.5,t)", [](T a, double s) { return trip::sub(s, a); },
          [](double a, double s) { return s - a; }, 1.5, normal, IntOut::f32),
      with_scalar(
          "mul(-3,t)", [](T a, double s) { return trip::mul(s, a); },
          [](double a, double s) { return s * a; }, -3),
      with_scalar(
          "div(t,0.5)", [](T a, double s) { return trip::div(a, s); },
          [](double a, double s) { return a / s; }, 0.5, normal, IntOut::f32),
      with_scalar(
          "div(2,t)", [](T a, double s) { return trip::div(s, a); },
          [](double a, double s) { return s / a; }, 2, smooth, IntOut::f32),
      with_scalar(
          "maximum(t,0.25)", [](T a, double s) { return trip::maximum(a, s); }, maximum, 0.25,
          smooth, IntOut::f32),
      with_scalar(
          "minimum(1,t)", [](T a, double s) { return trip::minimum(s, a); }, minimum, 1, smooth),
      with_scalar(
          "pow(2,t)", [](T a, double s) { return trip::pow(s, a); },
          [](double a, double s) { return std::pow(s, a); }, 2, normal, IntOut::f32),
      with_scalar(
          "lt(t,0)", [](T a, double s) { return trip::lt(a, s); },
          [](double a, double s) { return double(a < s); }, 0, normal, IntOut::boolean),
      with_scalar(
          "ge(0.5,t)", [](T a, double s) { return trip::ge(s, a); },
          [](double a, double s) { return double(s >= a); }, 0.5, normal, IntOut::boolean),
  };
  for (OpInfo& op : ops) {
    if (op.name == "maximum(t,0.25)") op.kinks = {0.25};
    if (op.name == "minimum(1,t)") op.kinks = {1.0};
  }

  // dtype promotion: a floating or i32 tensor with an i64 one.
  OpInfo promote = binary(
      "add(t,i64)", [](T a, T b) { return trip::add(a, b); },
      [](double a, double b) { return a + b; });
  promote.cases = {{"7x13,13 i64", {in({7, 13}), fixed({13}, DType::i64)}},
                   {"0-d i64,3x4", {fixed({}, DType::i64), in({3, 4})}}};
  promote.out_dtype = [](DType t, int) { return is_floating(t) ? t : DType::i64; };
  ops.push_back(promote);
  ops.back().errors.push_back(
      {"bool tensors",
       [] { trip::add(ops::ones({2}, DType::boolean), ops::ones({2}, DType::boolean)); },
       "add: not defined for bool tensors"});

  OpInfo where;
  where.name = "where";
  where.fn = [](const std::vector<Tensor>& x, const Args&) {
    return std::vector<Tensor>{trip::where(x[0], x[1], x[2])};
  };
  where.ref = [](const std::vector<Host>& x, const Args&) {
    return std::vector<Host>{
        ref::zip3(x[0], x[1], x[2], [](double c, double a, double b) { return c != 0 ? a : b; })};
  };
  where.cases = {{"7x13", {mask({7, 13}), in({7, 13}), in({7, 13})}},
                 {"7x1,13,0-d", {mask({7, 1}), in({13}), in({})}},
                 {"0-d,2x3,2x3", {mask({}), in({2, 3}), in({2, 3})}},
                 {"video", {mask({2, 3, 4, 5, 6}), in({2, 3, 4, 5, 6}), in({5, 6})}},
                 {"empty", {mask({0, 3}), in({3}), in({0, 3})}}};
  where.dtypes = kAllTypes;
  where.errors = {
      {"float condition", [] { trip::where(ops::ones({2}), ops::ones({2}), ops::ones({2})); },
       "where: condition must be bool"},
      {"shapes",
       [] { trip::where(ops::ones({2}, DType::boolean), ops::ones({3}), ops::ones({2})); },
       "cannot be broadcast"}};
  ops.push_back(where);

  OpInfo masked_fill;
  masked_fill.name = "masked_fill";
  masked_fill.fn = [](const std::vector<Tensor>& x, const Args& a) {
    return std::vector<Tensor>{trip::masked_fill(x[0], x[1], a.x)};
  };
  masked_fill.ref = [](const std::vector<Host>& x, const Args& a) {
    return std::vector<Host>{
        ref::zip(x[0], x[1], [&](double t, double m) { return m != 0 ? a.x : t; })};
  };
  masked_fill.cases = {{"7x13", {in({7, 13}), mask({7, 13})}, {.x = -3}},
                       {"7x13,13", {in({7, 13}), mask({13})}, {.x = 5}},
                       {"video,4x1x6", {in({2, 3, 4, 5, 6}), mask({4, 1, 6})}, {.x = 0}},
                       {"0-d", {in({}), mask({})}, {.x = 2}}};
  masked_fill.dtypes = kAllTypes;
  masked_fill.errors = {{"float mask",
                         [] { trip::masked_fill(ops::ones({2}), ops::ones({2}), 1.0); },
                         "masked_fill: mask must be bool"}};
  ops.push_back(masked_fill);

  // ---- in-place (forward only): the target is input 0, in each layout ----
  std::vector<Case> singles = {{"7x13 by -2", {in({7, 13})}, {.x = -2}},
                               {"0-d by 3", {in({})}, {.x = 3}},
                               {"video by -3", {in({2, 3, 4, 5, 6})}, {.x = -3}},
                               {"0x3 by 7", {in({0, 3})}, {.x = 7}}};
  std::vector<Case> pairs = {{"7x13,7x13", {in({7, 13}), in({7, 13})}, {.x = 1}},
                             {"7x13,13 alpha -2", {in({7, 13}), in({13})}, {.x = -2}},
                             {"0-d,0-d", {in({}), in({})}, {.x = 1}},
                             {"video,5x6", {in({2, 3, 4, 5, 6}), in({5, 6})}, {.x = 3}}};
  auto expanded = [](const Host& a, const Host& b, const std::function<double(double, double)>& f) {
    return std::vector<Host>{ref::zip(a, ref::expand(b, a.shape), f)};
  };
  ops.push_back(in_place(
      "add_", [](const std::vector<Tensor>& x, const Args& a) { trip::add_(x[0], x[1], a.x); },
      [=](const std::vector<Host>& x, const Args& a) {
        return expanded(x[0], x[1], [&](double p, double q) { return p + a.x * q; });
      },
      pairs));
  ops.back().errors = {
      {"broadcast into the target",
       [] {
         trip::add_(ops::zeros({3}), ops::zeros({2, 3}));
       },
       "add_: cannot broadcast shape [2, 3] into the in-place target of shape [3]"},
      {"requires grad",
       [] { trip::add_(ops::zeros({3}, DType::f64).set_requires_grad(), ops::ones({3})); },
       "in-place op on a tensor that requires grad"}};
  ops.push_back(in_place(
      "mul_", [](const std::vector<Tensor>& x, const Args&) { trip::mul_(x[0], x[1]); },
      [=](const std::vector<Host>& x, const Args&) {
        return expanded(x[0], x[1], [](double p, double q) { return p * q; });
      },
      pairs));
  ops.push_back(in_place(
      "mul_(scalar)", [](const std::vector<Tensor>& x, const Args& a) { trip::mul_(x[0], a.x); },
      [](const std::vector<Host>& x, const Args& a) {
        return std::vector<Host>{ref::map(x[0], [&](double p) { return p * a.x; })};
      },
      singles));
  ops.push_back(in_place(
      "fill_", [](const std::vector<Tensor>& x, const Args& a) { trip::fill_(x[0], a.x); },
      [](const std::vector<Host>& x, const Args& a) {
        return std::vector<Host>{ref::map(x[0], [&](double) { return a.x; })};
      },
      singles));
  std::vector<Case> copies = pairs;
  copies.push_back({"7x13,13 from f64", {in({7, 13}), fixed({13}, DType::f64, Domain::positive)}});
  copies.push_back({"7x13,7x13 from i32", {in({7, 13}), fixed({7, 13}, DType::i32)}});
  ops.push_back(in_place(
      "copy_", [](const std::vector<Tensor>& x, const Args&) { trip::copy_(x[0], x[1]); },
      [=](const std::vector<Host>& x, const Args&) {
        // f64 sources into integer targets truncate toward zero.
        return expanded(x[0], x[1], [](double, double q) { return q; });
      },
      copies));
  ops.back().errors = {
      {"shapes", [] { trip::copy_(ops::zeros({3}), ops::zeros({2})); }, "cannot expand"}};
  ops.back().same_device_only = false;  // copy_ converts devices
  return ops;
}

}  // namespace trip::optest
