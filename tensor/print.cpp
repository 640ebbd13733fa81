#include "tensor/print.h"

#include <cmath>

#include "tensor/ops.h"

namespace trip {

namespace {

constexpr int64_t kSummaryThreshold = 1000;
constexpr int64_t kEdgeItems = 3;

std::string element(double v, DType dtype) {
  if (dtype == DType::boolean) return v != 0 ? "true" : "false";
  if (!is_floating(dtype)) return fmt::format("{}", int64_t(v));
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{:.4f}", v);
}

void render(std::string& out, const std::vector<double>& values, const Dims& shape,
            const Dims& strides, int dim, int64_t offset, DType dtype, bool summarise) {
  if (dim == shape.size()) {
    out += element(values[offset], dtype);
    return;
  }
  out += '[';
  int64_t n = shape[dim];
  for (int64_t i = 0; i < n; ++i) {
    if (summarise && n > 2 * kEdgeItems && i == kEdgeItems) {
      out += "..., ";
      i = n - kEdgeItems - 1;
      continue;
    }
    render(out, values, shape, strides, dim + 1, offset + i * strides[dim], dtype, summarise);
    if (i + 1 < n) {
      out += ',';
      if (dim + 1 < shape.size()) {
        out += '\n';
        out.append(size_t(dim) + 8, ' ');  // align under "tensor(["
      } else {
        out += ' ';
      }
    }
  }
  out += ']';
}

}  // namespace

std::string to_string(const Tensor& t) {
  if (!t.defined()) return "tensor(undefined)";
  std::vector<double> values = t.to_vector<double>();
  std::string body;
  render(body, values, t.shape(), contiguous_strides(t.shape()), 0, 0, t.dtype(),
         t.numel() > kSummaryThreshold);
  return fmt::format("tensor({}, shape={}, dtype={}, device={})", body, t.shape(), t.dtype(),
                     t.device());
}

}  // namespace trip
