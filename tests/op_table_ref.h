// defines: the naive reference helpers of the op table (namespace trip::optest::ref): small,
// obviously correct loops in double over Host tensors, written for clarity, not speed.
// Everything is by multi-index: an output element is computed from the input elements it
// depends on, with NumPy broadcasting and PyTorch's dim conventions (negative dims count from
// the end).
#pragma once
#include <functional>
#include <utility>
#include <vector>

#include "tests/op_table.h"

namespace trip::optest::ref {

using Index = std::vector<int64_t>;

// Wraps a possibly negative dim of an ndim-d tensor (0-d tensors accept 0 and -1).
int wrap(int64_t dim, int ndim);
// The element at a multi-index.
double at(const Host& t, const Index& idx);
// An output of `shape` whose element at each multi-index is f(index).
Host build(const Dims& shape, const std::function<double(const Index&)>& f);
Host scalar(double value);

// ---- elementwise, NumPy broadcasting ----
Dims broadcast(const Dims& a, const Dims& b);
// The element of `t` that broadcasting to `out_shape` places at `idx`.
double at_broadcast(const Host& t, const Dims& out_shape, const Index& idx);
Host map(const Host& a, const std::function<double(double)>& f);
Host zip(const Host& a, const Host& b, const std::function<double(double, double)>& f);
Host zip3(const Host& a, const Host& b, const Host& c,
          const std::function<double(double, double, double)>& f);

// ---- reductions: f gets the reduced elements in row-major order of the reduced dims ----
Host reduce(const Host& t, const Dims& dims, bool keepdim,
            const std::function<double(const std::vector<double>&)>& f);
double sum(const std::vector<double>& v);
double mean(const std::vector<double>& v);
double max(const std::vector<double>& v);  // NaN wins
double min(const std::vector<double>& v);
double argmax(const std::vector<double>& v);  // first extreme; NaN wins
double argmin(const std::vector<double>& v);
double var(const std::vector<double>& v, int64_t correction);
double norm(const std::vector<double>& v, double p);
// Applies f to every line along `dim` (f returns a line of the same length).
Host along(const Host& t, int64_t dim,
           const std::function<std::vector<double>(const std::vector<double>&)>& f);
std::vector<double> softmax(const std::vector<double>& v);
std::vector<double> log_softmax(const std::vector<double>& v);

// ---- matmul with NumPy semantics (1-d operands, broadcast batch dims) ----
Host matmul(const Host& a, const Host& b);

// ---- views and layout ----
Host reshape(const Host& t, const Dims& shape);  // one -1 allowed
Host permute(const Host& t, const Dims& dims);
Host transpose(const Host& t, int64_t d0, int64_t d1);
Host slice(const Host& t, int64_t dim, int64_t start, int64_t end, int64_t step);  // in range
Host select(const Host& t, int64_t dim, int64_t index);
Host expand(const Host& t, const Dims& shape);  // -1 keeps a dim
Host unsqueeze(const Host& t, int64_t dim);

// ---- joining and indexing ----
Host cat(const std::vector<Host>& parts, int64_t dim);
Host index_select(const Host& t, int64_t dim, const Host& index);
Host gather(const Host& t, int64_t dim, const Host& index);
Host scatter_add(const Host& t, int64_t dim, const Host& index, const Host& src);
Host pad(const Host& t, const std::vector<int64_t>& pads, double value);
Host repeat(const Host& t, const Dims& repeats);

}  // namespace trip::optest::ref
