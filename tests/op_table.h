// defines: the op test table (OpInfo, one entry per op) and what the generic checks of
// tests/op_checks_*.cpp need to run it: Host (a tensor in double on the host, the world of the
// references), input generation in several memory layouts, and the comparison of a result with
// its reference. The reference helpers live in tests/op_table_ref.h.
//
// Adding an op: one entry in the family's table (tests/op_table_<family>.cpp): its name, the call
// through the differentiable API, a naive reference in double, the input cases, the dtypes and
// the bad inputs. Every check (forward vs reference in each layout, float64 gradcheck, CPU vs
// CUDA, errors) is generated from it. Modelled on PyTorch's OpInfo and ggml's test-backend-ops.
// Family helpers make most entries one call, e.g. in tests/op_table_unary.cpp:
//   unary("exp", [](const Tensor& x) { return trip::exp(x); }, [](double x) { return std::exp(x);
//   })
// A new family needs its function below, a line in op_table() and test cases in the checks.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "tensor/ops.h"

namespace trip::optest {

// A tensor on the host in double, row-major.
struct Host {
  Dims shape;
  std::vector<double> v;
  int64_t numel() const { return numel_of(shape); }
};

// How an input's values are drawn (ops::randn / ops::rand with a Generator seeded from the op,
// case and input, then transformed on the host).
enum class Domain : uint8_t {
  normal,    // randn; integer dtypes: integers in [-6, 6]
  positive,  // [0.5, 2.5): log, sqrt, rsqrt, pow bases, divisors; integers in [1, 4]
  smooth,    // randn moved at least 0.1 away from the op's kinks (OpInfo::kinks): abs, relu, clamp
  boolean,   // bool, about half true (masks, conditions), whatever the case's dtype
  index,     // i64 in [0, high) (gather, index_select, scatter_add); small `high` gives repeats
  special,   // a fixed cycle of 0, -0, +-1, tiny, large, +-inf and NaN (forward only)
};

struct Input {
  Dims shape;
  Domain domain = Domain::normal;
  int64_t high = 0;          // Domain::index: values lie in [0, high)
  DType fixed = DType::f32;  // with has_fixed: this dtype instead of the case's (promotion tests)
  bool has_fixed = false;
};
inline Input in(Dims shape, Domain d = Domain::normal) { return Input{shape, d}; }
inline Input mask(Dims shape) { return Input{shape, Domain::boolean}; }
inline Input index(Dims shape, int64_t high) { return Input{shape, Domain::index, high}; }
inline Input fixed(Dims shape, DType dtype, Domain d = Domain::normal) {
  return Input{shape, d, 0, dtype, true};
}

// The scalar arguments of one case (what each op reads from them is up to its entry).
struct Args {
  Dims dims = {};   // reduction dims, permutation, target shape, repeats ...
  int64_t dim = 0;  // the one dim of softmax, max, cat, gather ...
  bool keepdim = false;
  double x = 0, y = 0, z = 0;      // scalars: exponent, clamp bounds, fill value, alpha, norm p ...
  std::vector<int64_t> ints = {};  // pads, (start, length), correction ...
};

struct Case {
  std::string name;
  std::vector<Input> inputs;
  Args args = {};
  bool grad = true;  // include in the gradcheck (it also skips cases with many elements)
};

struct Tol {
  double atol = 0, rtol = 0;
};

// A call that must throw trip::Error whose message contains `fragment`.
struct BadInput {
  std::string what;
  std::function<void()> call;
  std::string fragment;
};

using OpFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&, const Args&)>;
using RefFn = std::function<std::vector<Host>(const std::vector<Host>&, const Args&)>;

inline const std::vector<DType> kFloating = {DType::f64, DType::f32, DType::bf16, DType::f16};
inline const std::vector<DType> kAllTypes = {DType::f64, DType::f32, DType::bf16,
                                             DType::f16, DType::i32, DType::i64};

struct OpInfo {
  std::string name;
  std::string family;  // set by op_table(): "unary", "binary", "reduce", "matmul", "views",
                       // "index", "factories", "norm"
  OpFn fn;    // through the differentiable API (trip::), so the gradcheck tests the real thing
  RefFn ref;  // naive, in double, from the exact input values
  std::vector<Case> cases;
  std::vector<DType> dtypes = kFloating;
  bool differentiable = true;  // floating inputs of normal/positive/smooth domains get gradients
  std::vector<double> kinks = {0.0};  // for Domain::smooth
  // The dtype of output `i` for inputs of `dtype` (null: the inputs' dtype).
  std::function<DType(DType dtype, int i)> out_dtype = nullptr;
  double tol_scale = 1;          // multiplies the default tolerances (tol()) of every dtype
  bool strided_inputs = true;    // run the non-contiguous layouts too (false for view())
  bool in_place = false;         // writes into input 0 (otherwise inputs must stay unchanged)
  bool same_device_only = true;  // inputs on different devices must be refused (not copy_)
  // When the op refuses integer tensors: the error expected for case 0 in i32.
  std::string integer_error = {};
  std::vector<BadInput> errors = {};
  // A reported, not yet fixed bug (what and where it was reported): while set, the op's forward
  // and gradient mismatches are warnings, so the rest of its family still guards regressions.
  std::string known_failure = {};

  Tol tol(DType dtype) const;
  DType output_dtype(DType dtype, int i) const { return out_dtype ? out_dtype(dtype, i) : dtype; }
};

// The whole table, built once from the family tables below (tests/op_table.cpp). The
// environment variable TRIP_OPS=name1,name2 restricts it (for debugging one op).
const std::vector<OpInfo>& op_table();
// The entries of one family (each check runs as one test case per family).
std::vector<const OpInfo*> op_family(const std::string& family);
std::vector<OpInfo> unary_ops();    // tests/op_table_unary.cpp
std::vector<OpInfo> binary_ops();   // tests/op_table_binary.cpp (incl. where, in-place)
std::vector<OpInfo> reduce_ops();   // tests/op_table_reduce.cpp (incl. softmax)
std::vector<OpInfo> matmul_ops();   // tests/op_table_matmul.cpp
std::vector<OpInfo> view_ops();     // tests/op_table_views.cpp
std::vector<OpInfo> index_ops();    // tests/op_table_index.cpp
std::vector<OpInfo> factory_ops();  // tests/op_table_factories.cpp
std::vector<OpInfo> norm_ops();     // tests/op_table_norm.cpp (group_norm(+SiLU), (Ada)LayerNorm)

// ---- inputs (tests/op_table_inputs.cpp) ----

// Where the values of an input lie in memory. The non-contiguous layouts hold the same values.
enum class Layout : uint8_t {
  contiguous,
  transposed,  // a contiguous tensor of the shape with the last two dims swapped, transposed back
  strided,     // every other element (offset 1) of a larger buffer filled with sentinels
};
inline const std::vector<Layout> kLayouts = {Layout::contiguous, Layout::transposed,
                                             Layout::strided};
const char* layout_name(Layout layout);
// The layouts an op's inputs are tested in.
inline std::vector<Layout> layouts_of(const OpInfo& op) {
  return op.strided_inputs ? kLayouts : std::vector<Layout>{Layout::contiguous};
}

// The values of the inputs of `op`'s case `c` for `dtype`: drawn reproducibly, already rounded to
// the dtype each input will have.
std::vector<Host> input_values(const OpInfo& op, const Case& c, DType dtype);
// The dtype input `input` of a case has when the case runs in `dtype`.
DType input_dtype(const Input& input, DType dtype);
// A tensor of `dtype` on `device` holding `values` in `layout`.
Tensor make_tensor(const Host& values, DType dtype, Layout layout, Device device = kCPU);
std::vector<Tensor> make_inputs(const OpInfo& op, const Case& c, const std::vector<Host>& values,
                                DType dtype, Layout layout, Device device = kCPU);
Host to_host(const Tensor& t);

// Compares `got` with `want`: shape, dtype (when expected is given), then every element within
// tol (exact for integer and bool outputs). A NaN fails unless the reference has NaN there.
// Returns "" on success, else a description of the first mismatches.
std::string compare(const Tensor& got, const Host& want, DType expected_dtype, Tol tol);
// The same between two tensors (CPU vs CUDA); `want` is the reference result.
std::string compare_tensors(const Tensor& got, const Tensor& want, Tol tol);

// "exp [7, 13] f32 transposed": for INFO lines.
std::string describe(const OpInfo& op, const Case& c, DType dtype);

// Whether total input elements are few enough for a gradcheck.
bool small_enough_for_gradcheck(const Case& c);

}  // namespace trip::optest
