// The op table assembled from its families, and the defaults every entry starts from.
#include "tests/op_table.h"

#include <cstdlib>
#include <sstream>

namespace trip::optest {

Tol OpInfo::tol(DType dtype) const {
  // Defaults: a few roundings of the dtype (PyTorch's assert_close uses similar ones). Integer
  // and bool results are compared exactly.
  Tol t;
  switch (dtype) {
    case DType::f64:
      t = {1e-9, 1e-9};
      break;
    case DType::f32:
      t = {1e-5, 1e-5};
      break;
    case DType::f16:
      t = {1e-4, 1e-3};
      break;
    case DType::bf16:
      t = {1e-3, 8e-3};
      break;
    default:
      return Tol{0, 0};
  }
  return Tol{t.atol * tol_scale, t.rtol * tol_scale};
}

static std::vector<std::string> selected_ops() {
  std::vector<std::string> names;
  const char* env = std::getenv("TRIP_OPS");
  if (!env) return names;
  std::stringstream list(env);
  for (std::string name; std::getline(list, name, ',');)
    if (!name.empty()) names.push_back(name);
  return names;
}

const std::vector<OpInfo>& op_table() {
  static const std::vector<OpInfo> table = [] {
    std::vector<OpInfo> all;
    std::pair<const char*, std::vector<OpInfo> (*)()> families[] = {
        {"unary", unary_ops},       {"binary", binary_ops}, {"reduce", reduce_ops},
        {"matmul", matmul_ops},     {"views", view_ops},    {"index", index_ops},
        {"factories", factory_ops}, {"norm", norm_ops}};
    for (auto& [family, entries] : families) {
      for (OpInfo& op : entries()) {
        op.family = family;
        all.push_back(std::move(op));
      }
    }
    std::vector<std::string> only = selected_ops();
    if (only.empty()) return all;
    std::vector<OpInfo> some;
    for (OpInfo& op : all)
      for (const std::string& name : only)
        if (op.name == name) some.push_back(op);
    return some;
  }();
  return table;
}

std::vector<const OpInfo*> op_family(const std::string& family) {
  std::vector<const OpInfo*> ops;
  for (const OpInfo& op : op_table())
    if (op.family == family) ops.push_back(&op);
  return ops;
}

std::string describe(const OpInfo& op, const Case& c, DType dtype) {
  return op.name + " / " + c.name + " / " + std::string(dtype_name(dtype));
}

bool small_enough_for_gradcheck(const Case& c) {
  int64_t total = 0;
  for (const Input& input : c.inputs) total += numel_of(input.shape);
  return c.grad && total <= 800;
}

}  // namespace trip::optest
