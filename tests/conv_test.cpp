// Tests of N-d convolution (tensor/conv.cpp, tensor/cpu/conv.cpp, autograd/conv.cpp): forward
// against a direct double-precision convolution over 1d/2d/3d, stride, padding, dilation, groups
// (depthwise too), odd sizes, bias or none, batch > 1, f32/f64/bf16, both CPU strategies (the
// shift path and vol2col, also with small tiles); backward by float64 gradcheck and bf16
// against f32; error messages; bitwise thread-count independence; CPU vs CUDA.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "tensor/backend.h"
#include "tensor/cpu/conv_direct.h"
#include "tensor/cpu/gemm.h"
#include "tests/test_compare.h"

namespace trip::cpu {
void set_conv_chunk_bytes_for_testing(int64_t bytes);  // tensor/cpu/conv.cpp
}

using namespace trip;

namespace {

struct Case {
  int64_t n, c_in, c_out;
  std::vector<int64_t> size, kernel, stride, padding, dilation;
  int64_t groups;
  bool bias;
};

// Naive reference: every output element is the direct sum over its receptive field, in double,
// with the spatial dims padded to 3 (leading 1s). Also returns sum |terms| for tolerances.
struct Ref {
  std::vector<double> out, scale;
  Dims shape;
};

Ref reference(const Case& c, const std::vector<double>& x, const std::vector<double>& w,
              const std::vector<double>& b) {
  int sp = int(c.size.size()), off = 3 - sp;
  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, p[3] = {0, 0, 0}, d[3] = {1, 1, 1},
          o[3] = {1, 1, 1};
  Ref r;
  r.shape = {c.n, c.c_out};
  for (int i = 0; i < sp; ++i) {
    int j = off + i;
    in[j] = c.size[i], k[j] = c.kernel[i], s[j] = c.stride[i], p[j] = c.padding[i];
    d[j] = c.dilation[i];
    o[j] = (in[j] + 2 * p[j] - d[j] * (k[j] - 1) - 1) / s[j] + 1;
    r.shape.push_back(o[j]);
  }
  int64_t cg_in = c.c_in / c.groups, cg_out = c.c_out / c.groups;
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t co = 0; co < c.c_out; ++co)
      for (int64_t a = 0; a < o[0]; ++a)
        for (int64_t bb = 0; bb < o[1]; ++bb)
          for (int64_t e = 0; e < o[2]; ++e) {
            double sum = c.bias ? b[co] : 0, mag = c.bias ? std::abs(b[co]) : 0;
            int64_t grp = co / cg_out;
            for (int64_t ci = 0; ci < cg_in; ++ci)
              for (int64_t ka = 0; ka < k[0]; ++ka)
                for (int64_t kb = 0; kb < k[1]; ++kb)
                  for (int64_t ke = 0; ke < k[2]; ++ke) {
                    int64_t ia = a * s[0] - p[0] + ka * d[0], ib = bb * s[1] - p[1] + kb * d[1],
                            ie = e * s[2] - p[2] + ke * d[2];
                    if (ia < 0 || ia >= in[0] || ib < 0 || ib >= in[1] || ie < 0 || ie >= in[2])
                      continue;
                    double xv =
                        x[(((n * c.c_in + grp * cg_in + ci) * in[0] + ia) * in[1] + ib) * in[2] +
                          ie];
                    double wv = w[(((co * cg_in + ci) * k[0] + ka) * k[1] + kb) * k[2] + ke];
                    sum += xv * wv, mag += std::abs(xv * wv);
                  }
            r.out.push_back(sum);
            r.scale.push_back(mag);
          }
  return r;
}

ConvParams params_of(const Case& c) {
  ConvParams p;
  p.spatial = int(c.size.size());
  for (int i = 0; i < p.spatial; ++i)
    p.stride[i] = c.stride[i], p.padding[i] = c.padding[i], p.dilation[i] = c.dilation[i];
  p.groups = c.groups;
  return p;
}

Dims input_shape(const Case& c) {
  Dims s{c.n, c.c_in};
  for (int64_t v : c.size) s.push_back(v);
  return s;
}
Dims weight_shape(const Case& c) {
  Dims s{c.c_out, c.c_in / c.groups};
  for (int64_t v : c.kernel) s.push_back(v);
  return s;
}

Tensor random(const Dims& shape, uint64_t seed, DType dtype, Device device = kCPU) {
  ops::Generator gen{seed, 0};
  return to(to(randn(shape, DType::f64, &gen), dtype), device);
}

std::string describe(const Case& c) {
  // fmt rather than operator+ on strings: GCC 12 warns falsely (-Wrestrict) about the latter.
  return fmt::format("n{} cin{} cout{} size {} k {} s {} p {} d {} g{}{}", c.n, c.c_in, c.c_out,
                     fmt::join(c.size, ","), fmt::join(c.kernel, ","), fmt::join(c.stride, ","),
                     fmt::join(c.padding, ","), fmt::join(c.dilation, ","), c.groups,
                     c.bias ? " bias" : "");
}

// The cases: both CPU strategies (shift path: (k,1,..) kernels without other padding/stride,
// 1x1; vol2col: everything else) in every rank.
std::vector<Case> cases() {
  return {
      {2, 3, 4, {7}, {3}, {1}, {1}, {1}, 1, true},
      {1, 4, 2, {9}, {3}, {2}, {0}, {2}, 2, false},
      {3, 4, 4, {6}, {1}, {1}, {0}, {1}, 4, true},
      {2, 2, 3, {5}, {5}, {1}, {2}, {1}, 1, true},
      {2, 3, 5, {7, 6}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, 1, true},
      {1, 4, 6, {9, 8}, {3, 2}, {2, 3}, {1, 0}, {1, 2}, 2, false},
      {2, 6, 6, {5, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, 6, true},
      {2, 3, 4, {5, 5}, {3, 1}, {1, 1}, {1, 0}, {2, 1}, 1, true},
      {3, 5, 2, {4, 3}, {1, 1}, {1, 1}, {0, 0}, {1, 1}, 1, true},
      {1, 2, 3, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1, true},
      {2, 4, 5, {5, 3, 4}, {3, 1, 1}, {1, 1, 1}, {1, 0, 0}, {1, 1, 1}, 1, true},
      {1, 4, 4, {7, 2, 3}, {3, 1, 1}, {1, 1, 1}, {2, 0, 0}, {2, 1, 1}, 2, false},
      {2, 3, 4, {4, 5, 3}, {2, 3, 2}, {1, 2, 1}, {1, 1, 0}, {1, 1, 2}, 1, true},
      {1, 4, 4, {3, 4, 5}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 4, true},
      {1, 2, 2, {6, 2, 2}, {3, 1, 1}, {2, 1, 1}, {1, 0, 0}, {1, 1, 1}, 1, true},
  };
}

void check_close(const std::vector<double>& got, const std::vector<double>& want,
                 const std::vector<double>& scale, double rtol) {
  REQUIRE(got.size() == want.size());
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i)
    worst = test::worse(worst, std::abs(got[i] - want[i]) / (scale[i] + 1e-30));
  CHECK(worst <= rtol);
}

std::vector<unsigned char> bytes_of(const Tensor& t) {
  Tensor c = ops::contiguous(t);
  const auto* p = static_cast<const unsigned char*>(c.data_ptr());
  return std::vector<unsigned char>(p, p + c.nbytes());
}

std::string message(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("conv forward matches a direct convolution") {
  set_poison_allocations(true);
  for (int64_t chunk : {int64_t(64) << 20, int64_t(1)}) {  // 1 byte: tiles of one output row
    cpu::set_conv_chunk_bytes_for_testing(chunk);
    for (DType dt : {DType::f64, DType::f32, DType::bf16})
      for (const Case& c : cases()) {
        INFO(describe(c), " ", dtype_name(dt), " chunk ", chunk);
        Tensor x = random(input_shape(c), 1, dt), w = random(weight_shape(c), 2, dt);
        Tensor b = c.bias ? random({c.c_out}, 3, dt) : Tensor();
        // The reference sees the values the kernel sees (already rounded to dt).
        Ref r = reference(c, x.to_vector<double>(), w.to_vector<double>(),
                          c.bias ? b.to_vector<double>() : std::vector<double>());
        Tensor out = ops::conv(x, w, b, params_of(c));
        CHECK(out.shape() == r.shape);
        CHECK(out.dtype() == dt);
        double rtol = dt == DType::f64 ? 1e-13 : dt == DType::f32 ? 1e-6 : 1e-2;
        check_close(out.to_vector<double>(), r.out, r.scale, rtol);
      }
  }
  cpu::set_conv_chunk_bytes_for_testing(int64_t(64) << 20);
  set_poison_allocations(false);
}

// The direct kernels (tensor/cpu/conv_direct*.cpp) take stride-1 "same" convs. Shapes chosen
// against their blocking: channel counts below, at and past the register tiles (8 output
// channels forward with AVX-512, 6 with AVX2; grad_weight's GEMM tiles), planes that end
// mid-vector, dilation, groups, every rank, a plane large enough for several sample parts and
// position blocks in grad_weight, and batches that take grad_weight's split by sample chunks
// (19 samples: chunks of 2, the last short).
static std::vector<Case> direct_cases() {
  return {
      {3, 5, 7, {7, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, 1, true},
      {2, 13, 10, {5, 11}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, 1, false},
      {2, 3, 2, {4, 4}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, 1, true},
      {2, 6, 12, {6, 7}, {3, 3}, {1, 1}, {2, 2}, {2, 2}, 3, true},
      {1, 20, 24, {8, 8}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, 1, true},
      {2, 8, 6, {5, 3, 4}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 2, true},
      {3, 9, 17, {7, 4, 5}, {3, 1, 1}, {1, 1, 1}, {1, 0, 0}, {1, 1, 1}, 1, true},
      {2, 4, 5, {19}, {5}, {1}, {2}, {1}, 1, false},
      {5, 16, 16, {40, 40}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, 1, true},
      // Four samples or more and few C tiles: grad_weight by chunks of samples into partials.
      {7, 13, 10, {5, 11}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, 1, false},
      {4, 6, 12, {6, 7}, {3, 3}, {1, 1}, {2, 2}, {2, 2}, 3, true},
      {19, 5, 7, {3, 4, 5}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 1, true},
  };
}

static bool cpu_has_avx512() {
#if defined(__x86_64__)
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

static bool cpu_has_avx2() {
#if defined(__x86_64__)
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

// |got - want| <= tol * max |want| elementwise.
static void check_near(const Tensor& got, const Tensor& want, double tol) {
  std::vector<double> g = got.to_vector<double>(), e = want.to_vector<double>();
  REQUIRE(g.size() == e.size());
  double scale = 0, worst = 0;
  for (double v : e) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < g.size(); ++i) worst = test::worse(worst, std::abs(g[i] - e[i]));
  CHECK(worst <= tol * scale);
}

TEST_CASE("direct conv kernels match the reference and the GEMM path") {
  // Each instruction set of the direct kernels this CPU has, against the generic GEMM path.
  std::vector<cpu::GemmKernel> isas;
  if (cpu_has_avx512()) isas.push_back(cpu::GemmKernel::avx512);
  if (cpu_has_avx2()) isas.push_back(cpu::GemmKernel::avx2);
  set_poison_allocations(true);  // every output and gradient element must be written
  for (const Case& c : direct_cases()) {
    cpu::conv_direct::Shape s{c.n,       c.c_in,    c.c_out,   c.groups,
                              {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}};
    for (size_t i = 0; i < c.size.size(); ++i) {
      size_t j = 3 - c.size.size() + i;
      s.in[j] = c.size[i], s.k[j] = c.kernel[i], s.p[j] = c.padding[i], s.d[j] = c.dilation[i];
    }
    for (cpu::GemmKernel isa : isas) {
      for (DType dt : {DType::f32, DType::f64}) {
        INFO(describe(c), " ", dtype_name(dt),
             isa == cpu::GemmKernel::avx512 ? " avx512" : " avx2");
        cpu::set_gemm_kernel(isa);
        CHECK(cpu::conv_direct::applies(s));  // these cases do test it
        Tensor x = random(input_shape(c), 21, dt), w = random(weight_shape(c), 22, dt);
        Tensor b = c.bias ? random({c.c_out}, 23, dt) : Tensor();
        Ref r = reference(c, x.to_vector<double>(), w.to_vector<double>(),
                          c.bias ? b.to_vector<double>() : std::vector<double>());
        Tensor out = ops::conv(x, w, b, params_of(c));
        REQUIRE(out.shape() == r.shape);
        check_close(out.to_vector<double>(), r.out, r.scale, dt == DType::f64 ? 1e-13 : 1e-6);
        // Gradients against the im2col + GEMM path (itself checked by gradcheck), which the
        // direct kernels step aside for when the GEMM runs its generic kernels.
        Tensor go = random(out.shape(), 24, dt);
        ops::ConvGrads got = ops::conv_backward(go, x, w, true, true, c.bias, params_of(c));
        cpu::set_gemm_kernel(cpu::GemmKernel::generic);
        CHECK(!cpu::conv_direct::applies(s));
        ops::ConvGrads want = ops::conv_backward(go, x, w, true, true, c.bias, params_of(c));
        Tensor out_gemm = ops::conv(x, w, b, params_of(c));
        cpu::set_gemm_kernel(cpu::GemmKernel::automatic);
        double tol = dt == DType::f64 ? 1e-12 : 1e-5;
        check_near(out, out_gemm, tol);
        check_near(got.input, want.input, tol);
        check_near(got.weight, want.weight, tol);
        if (c.bias) check_near(got.bias, want.bias, tol);
      }
    }
  }
  set_poison_allocations(false);
}

TEST_CASE("direct conv gradcheck (float64) with channels past the register tiles") {
  for (Case c : {Case{2, 5, 7, {4, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, 1, true},
                 Case{2, 4, 6, {3, 2, 3}, {3, 1, 1}, {1, 1, 1}, {1, 0, 0}, {1, 1, 1}, 1, true}}) {
    INFO(describe(c));
    Tensor x = random(input_shape(c), 31, DType::f64), w = random(weight_shape(c), 32, DType::f64);
    Tensor b = random({c.c_out}, 33, DType::f64);
    x.set_requires_grad(true), w.set_requires_grad(true), b.set_requires_grad(true);
    auto fn = [&c](const std::vector<Tensor>& in) {
      if (c.size.size() == 2) return conv2d(in[0], in[1], in[2], {1, 1}, {1, 1}, {1, 1}, 1);
      return conv3d(in[0], in[1], in[2], {1, 1, 1}, {1, 0, 0}, {1, 1, 1}, 1);
    };
    GradcheckResult r = gradcheck(fn, {x, w, b});
    INFO(r.message);
    CHECK(r.ok);
  }
}

TEST_CASE("conv takes non-contiguous operands") {
  Case c{2, 3, 4, {5, 6}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, 1, true};
  Tensor xt = random({2, 3, 6, 5}, 1, DType::f64);
  Tensor x = transpose(xt, 2, 3);  // [2, 3, 5, 6], strided
  Tensor w = random(weight_shape(c), 2, DType::f64), b = random({4}, 3, DType::f64);
  Ref r = reference(c, x.to_vector<double>(), w.to_vector<double>(), b.to_vector<double>());
  check_close(ops::conv(x, w, b, params_of(c)).to_vector<double>(), r.out, r.scale, 1e-13);
}

// grad_input, grad_weight and grad_bias in f64 by central differences, on a subset of the cases
// that covers both strategies, groups, stride and dilation in every rank.
TEST_CASE("conv gradcheck (float64)") {
  set_poison_allocations(true);
  for (int64_t chunk : {int64_t(64) << 20, int64_t(1)}) {
    cpu::set_conv_chunk_bytes_for_testing(chunk);
    for (const Case& c : cases()) {
      INFO(describe(c), " chunk ", chunk);
      Tensor x = random(input_shape(c), 4, DType::f64), w = random(weight_shape(c), 5, DType::f64);
      x.set_requires_grad(true), w.set_requires_grad(true);
      std::vector<Tensor> inputs{x, w};
      if (c.bias) {
        Tensor b = random({c.c_out}, 6, DType::f64);
        b.set_requires_grad(true);
        inputs.push_back(b);
      }
      auto fn = [&c](const std::vector<Tensor>& in) {
        Tensor b = in.size() > 2 ? in[2] : Tensor();
        size_t sp = c.size.size();
        if (sp == 1)
          return conv1d(in[0], in[1], b, c.stride[0], c.padding[0], c.dilation[0], c.groups);
        if (sp == 2)
          return conv2d(in[0], in[1], b, {c.stride[0], c.stride[1]}, {c.padding[0], c.padding[1]},
                        {c.dilation[0], c.dilation[1]}, c.groups);
        return conv3d(in[0], in[1], b, {c.stride[0], c.stride[1], c.stride[2]},
                      {c.padding[0], c.padding[1], c.padding[2]},
                      {c.dilation[0], c.dilation[1], c.dilation[2]}, c.groups);
      };
      GradcheckResult r = gradcheck(fn, inputs);
      INFO(r.message);
      CHECK(r.ok);
    }
  }
  cpu::set_conv_chunk_bytes_for_testing(int64_t(64) << 20);
  set_poison_allocations(false);
}

TEST_CASE("conv backward asks only for the gradients it needs; bf16 backward tracks f32") {
  Case c{2, 4, 6, {6, 5}, {3, 3}, {2, 1}, {1, 1}, {1, 1}, 2, true};
  Tensor x = random(input_shape(c), 7, DType::bf16), w = random(weight_shape(c), 8, DType::bf16);
  Tensor go = random({2, 6, 3, 5}, 9, DType::bf16);
  ops::ConvGrads only_w = ops::conv_backward(go, x, w, false, true, false, params_of(c));
  CHECK(!only_w.input.defined());
  CHECK(!only_w.bias.defined());
  REQUIRE(only_w.weight.defined());
  CHECK(only_w.weight.dtype() == DType::bf16);
  ops::ConvGrads ref = ops::conv_backward(to(go, DType::f32), to(x, DType::f32), to(w, DType::f32),
                                          true, true, true, params_of(c));
  ops::ConvGrads all = ops::conv_backward(go, x, w, true, true, true, params_of(c));
  for (auto [got, want] : {std::pair{all.input, ref.input}, std::pair{all.weight, ref.weight},
                           std::pair{all.bias, ref.bias}}) {
    std::vector<double> g = got.to_vector<double>(), e = want.to_vector<double>();
    REQUIRE(g.size() == e.size());
    for (size_t i = 0; i < g.size(); ++i)
      CHECK(std::abs(g[i] - e[i]) <= 1e-2 * std::abs(e[i]) + 1e-2);
  }
}

TEST_CASE("conv rejects bad inputs with messages naming the shapes") {
  auto z = [](const Dims& s, DType dt = DType::f32) { return ops::zeros(s, dt); };
  ConvParams p;
  p.groups = 2;
  CHECK(message([&] {
          ops::conv(z({2, 3, 5, 5}), z({4, 1, 3, 3}), Tensor(), p);
        }).find("channels must divide into groups") != std::string::npos);
  p.groups = 1;
  CHECK(message([&] {
          ops::conv(z({2, 3, 5, 5}), z({4, 2, 3, 3}), Tensor(), p);
        }).find("[4, 2, 3, 3] expects 2 input channels") != std::string::npos);
  CHECK(message([&] {
          ops::conv(z({2, 3, 2, 5}), z({4, 3, 3, 3}), Tensor(), p);
        }).find("kernel larger than the padded input") != std::string::npos);
  CHECK(message([&] {
          ops::conv(z({2, 3, 5, 5}), z({4, 3, 3, 3}, DType::f64), Tensor(), p);
        }).find("dtype mismatch: input f32 but weight f64") != std::string::npos);
  CHECK(message([&] {
          ops::conv(z({3, 5}), z({4, 3, 3}), Tensor(), p);
        }).find("1 to 3 spatial dims") != std::string::npos);
  CHECK(message([&] {
          ops::conv(z({2, 3, 5, 5}), z({4, 3, 3}), Tensor(), p);
        }).find("weight must be") != std::string::npos);
  CHECK(message([&] {
          ops::conv(z({2, 3, 5, 5}), z({4, 3, 3, 3}), z({3}), p);
        }).find("bias must be [4]") != std::string::npos);
  CHECK(message([&] {
          ops::conv(z({2, 3, 5, 5}, DType::i32), z({4, 3, 3, 3}, DType::i32), Tensor(), p);
        }).find("floating") != std::string::npos);
  CHECK(
      message([&] {
        ops::conv_backward(z({2, 4, 4, 4}), z({2, 3, 5, 5}), z({4, 3, 3, 3}), true, true, true, p);
      }).find("grad_out must have the output shape [2, 4, 3, 3], got [2, 4, 4, 4]") !=
      std::string::npos);
  CHECK(message([&] {
          conv2d(z({2, 3, 5, 5, 5}), z({4, 3, 3, 3, 3}));
        }).find("conv2d: expected a 4-d input") != std::string::npos);
  if (cuda_available()) {
    Device gpu{DeviceType::cuda, 0};
    CHECK(message([&] {
            ops::conv(z({2, 3, 5, 5}), to(z({4, 3, 3, 3}), gpu), Tensor(), p);
          }).find("device mismatch") != std::string::npos);
  }
}

TEST_CASE("conv results do not depend on the thread count") {
  std::vector<Case> big = {
      {4, 8, 16, {20, 20}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, 1, true},
      {2, 16, 16, {5, 12, 12}, {3, 1, 1}, {1, 1, 1}, {1, 0, 0}, {1, 1, 1}, 1, true},
      {2, 8, 8, {6, 9, 9}, {3, 3, 3}, {2, 1, 1}, {1, 1, 1}, {1, 1, 1}, 2, true},
      {19, 8, 8, {4, 9, 9}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 2, true},
  };
  int saved = omp_get_max_threads();
  // Default tiles (whole samples here) and 256 KiB (tiles of a few rows sharing threaded
  // GEMMs).
  for (int64_t chunk : {int64_t(64) << 20, int64_t(256) << 10}) {
    cpu::set_conv_chunk_bytes_for_testing(chunk);
    for (const Case& c : big) {
      INFO(describe(c), " chunk ", chunk);
      Tensor x = random(input_shape(c), 11, DType::f32);
      Tensor w = random(weight_shape(c), 12, DType::f32), b = random({c.c_out}, 13, DType::f32);
      std::vector<std::vector<unsigned char>> runs[2];
      for (int threads : {1, 2}) {
        omp_set_num_threads(threads);
        Tensor out = ops::conv(x, w, b, params_of(c));
        Tensor go = random(out.shape(), 14, DType::f32);
        ops::ConvGrads g = ops::conv_backward(go, x, w, true, true, true, params_of(c));
        for (const Tensor& t : {out, g.input, g.weight, g.bias})
          runs[threads - 1].push_back(bytes_of(t));
      }
      for (size_t i = 0; i < runs[0].size(); ++i) CHECK(runs[0][i] == runs[1][i]);
    }
  }
  cpu::set_conv_chunk_bytes_for_testing(int64_t(64) << 20);
  omp_set_num_threads(saved);
}

TEST_CASE("conv on CUDA matches the CPU") {
  if (!cuda_available()) {
    MESSAGE("no usable CUDA device: CPU-vs-CUDA conv comparison skipped");
    return;
  }
  Device gpu{DeviceType::cuda, 0};
  for (DType dt : {DType::f64, DType::f32, DType::bf16, DType::f16})
    for (const Case& c : cases()) {
      INFO(describe(c), " ", dtype_name(dt));
      Tensor x = random(input_shape(c), 1, dt), w = random(weight_shape(c), 2, dt);
      Tensor b = c.bias ? random({c.c_out}, 3, dt) : Tensor();
      Tensor out = ops::conv(x, w, b, params_of(c));
      Tensor go = random(out.shape(), 4, dt);
      ops::ConvGrads g = ops::conv_backward(go, x, w, true, true, c.bias, params_of(c));
      Tensor out_d =
          ops::conv(to(x, gpu), to(w, gpu), c.bias ? to(b, gpu) : Tensor(), params_of(c));
      ops::ConvGrads g_d =
          ops::conv_backward(to(go, gpu), to(x, gpu), to(w, gpu), true, true, c.bias, params_of(c));
      double tol = dt == DType::f64 ? 1e-10 : dt == DType::f32 ? 1e-3 : 3e-2;
      std::vector<std::pair<Tensor, Tensor>> pairs{
          {out, out_d}, {g.input, g_d.input}, {g.weight, g_d.weight}};
      if (c.bias) pairs.push_back({g.bias, g_d.bias});
      for (auto& [cpu_t, gpu_t] : pairs) {
        std::vector<double> a = cpu_t.to_vector<double>(), d = gpu_t.to_vector<double>();
        REQUIRE(a.size() == d.size());
        double scale = 1;
        for (double v : a) scale = std::max(scale, std::abs(v));
        double worst = 0;
        for (size_t i = 0; i < a.size(); ++i) worst = test::worse(worst, std::abs(a[i] - d[i]));
        CHECK(worst <= tol * scale);
      }
    }
}
