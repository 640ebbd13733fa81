// Check (e): results do not depend on the number of threads (DESIGN.md, "Determinism"). A few
// ops on inputs big enough to be split across threads, run with 1 and with 2 OpenMP threads,
// must agree bit for bit, forward and backward.
#include <doctest/doctest.h>
#include <omp.h>

#include <cstring>
#include <functional>
#include <string>

#include "autograd/functions.h"

using namespace trip;

namespace {

std::vector<unsigned char> bytes_of(const Tensor& t) {
  Tensor c = ops::contiguous(t);
  const auto* p = static_cast<const unsigned char*>(c.data_ptr());
  return std::vector<unsigned char>(p, p + c.nbytes());
}

// fn's results (all of them, bytes) with `threads` OpenMP threads.
std::vector<std::vector<unsigned char>> run_with(int threads,
                                                 const std::function<std::vector<Tensor>()>& fn) {
  int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  std::vector<std::vector<unsigned char>> out;
  for (const Tensor& t : fn()) out.push_back(bytes_of(t));
  omp_set_num_threads(saved);
  return out;
}

Tensor input(const Dims& shape, uint64_t seed, DType dtype = DType::f32) {
  ops::Generator gen{seed, 0};
  return ops::randn(shape, dtype, &gen);
}

// The result and the input gradients of sum(f(x) * w).
std::vector<Tensor> with_grads(const std::vector<Tensor>& xs,
                               const std::function<Tensor(const std::vector<Tensor>&)>& f) {
  std::vector<Tensor> leaves;
  for (const Tensor& x : xs) leaves.push_back(ops::clone(x).set_requires_grad(true));
  Tensor out = f(leaves);
  Tensor w = input(out.shape(), 99, out.dtype());
  trip::sum(trip::mul(out, w)).backward();
  std::vector<Tensor> results{out};
  for (const Tensor& x : leaves) results.push_back(x.grad());
  return results;
}

}  // namespace

TEST_CASE("results are bitwise identical with 1 and 2 threads") {
  using Fn = std::function<std::vector<Tensor>()>;
  Tensor a = input({300, 200}, 1), b = input({200, 100}, 2);
  Tensor big = input({1000, 1000}, 3);
  Tensor logits = input({512, 1000}, 4);
  Tensor half = input({1 << 20}, 5, DType::bf16);
  Tensor video = input({2, 8, 16, 32, 32}, 6);
  std::vector<std::pair<std::string, Fn>> cases = {
      {"matmul 300x200 @ 200x100 (with gradients)",
       [&] {
         return with_grads({a, b}, [](auto& x) { return trip::matmul(x[0], x[1]); });
       }},
      {"matmul bf16",
       [&] {
         return std::vector<Tensor>{trip::matmul(ops::to(a, DType::bf16), ops::to(b, DType::bf16))};
       }},
      {"sum of 1e6 elements", [&] { return std::vector<Tensor>{trip::sum(big)}; }},
      {"sum over dim 0 and dim 1",
       [&] {
         return std::vector<Tensor>{trip::sum(big, {0}), trip::sum(big, {1})};
       }},
      {"column sums: a bias gradient [4, 2048, 64] -> [64], mean over dim 1 of [3, 5000, 7]",
       [&] {
         return std::vector<Tensor>{trip::sum(input({4, 2048, 64}, 8), {0, 1}),
                                    trip::mean(input({3, 5000, 7}, 9), {1})};
       }},
      {"mean, var, norm of 1e6 elements",
       [&] {
         return std::vector<Tensor>{trip::mean(big), trip::var(big), trip::norm(big, 3.0)};
       }},
      {"sum of 2^20 bf16", [&] { return std::vector<Tensor>{trip::sum(half)}; }},
      {"amax, max over dim 0",
       [&] {
         return std::vector<Tensor>{trip::amax(big), trip::max(big, 0).first};
       }},
      {"softmax 512x1000 dim 1 (with gradients)",
       [&] { return with_grads({logits}, [](auto& x) { return trip::softmax(x[0], 1); }); }},
      {"log_softmax 512x1000 dim 0",
       [&] { return std::vector<Tensor>{trip::log_softmax(logits, 0)}; }},
      {"gelu of 1e6 elements (with gradients)",
       [&] { return with_grads({big}, [](auto& x) { return trip::gelu(x[0], true); }); }},
      {"exp of a transposed 1e6 view",
       [&] { return std::vector<Tensor>{trip::exp(trip::transpose(big, 0, 1))}; }},
      {"broadcast add over a video",
       [&] { return std::vector<Tensor>{trip::add(video, trip::sum(video, {1}, true))}; }},
      {"randn of 1e6",
       [&] {
         ops::Generator gen{7, 0};
         return std::vector<Tensor>{ops::randn({1000, 1000}, DType::f32, &gen)};
       }},
  };
  for (auto& [name, fn] : cases) {
    INFO(name);
    auto one = run_with(1, fn);
    auto two = run_with(2, fn);
    REQUIRE(one.size() == two.size());
    for (size_t i = 0; i < one.size(); ++i) {
      INFO("result ", i);
      CHECK(one[i] == two[i]);
    }
  }
}
