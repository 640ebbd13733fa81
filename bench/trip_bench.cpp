// trip-bench: times the engine's ops. `trip-bench ops [--json] [--filter TEXT] [--repeats N]
// [--device cpu|cuda]` prints one line per case: the median time over repeats and GFLOP/s (compute-
// bound cases) or GB/s (memory-bound cases), next to the machine's measured peak (`trip-bench
// peak`). bench/README.md explains how to read the figures.
#include <fmt/core.h>
#include <omp.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "bench/peak.h"
#include "bench/timing.h"
#include "tensor/backend.h"
#include "tensor/cuda_memory.h"
#include "tensor/ops.h"

using namespace trip;

namespace {

struct Case {
  std::string name;
  double flops = 0;  // per run; 0 for memory-bound cases
  double bytes = 0;  // per run: bytes read + written
  std::function<void()> run;
};

std::vector<Case> make_cases(Device dev) {
  std::vector<Case> cases;
  auto opt = TensorOptions(DType::f32, dev);
  auto add_matmul = [&](const std::string& name, int64_t b, int64_t m, int64_t k, int64_t n,
                        DType dtype) {
    auto o = TensorOptions(dtype, dev);
    Tensor x = ops::randn(b > 1 ? Dims{b, m, k} : Dims{m, k}, o);
    Tensor y = ops::randn(b > 1 ? Dims{b, k, n} : Dims{k, n}, o);
    cases.push_back({name, 2.0 * double(b) * m * k * n, 0, [x, y] { ops::matmul(x, y); }});
  };
  for (int64_t s : {512, 1024, 2048}) {
    add_matmul(fmt::format("matmul_f32_{}", s), 1, s, s, s, DType::f32);
  }
  // The projections of a video UNet: tokens x channels @ channels x channels (tiny preset: 32x32
  // frames, 8 frames, 64 channels; modelscope: 32x32 latents, 320 channels), attention
  // scores per head ([B*heads, tokens, head_dim] @ [.., head_dim, tokens]) and a GEGLU projection.
  add_matmul("matmul_f32_proj_8192x64x64", 1, 8192, 64, 64, DType::f32);
  add_matmul("matmul_f32_proj_8192x320x320", 1, 8192, 320, 320, DType::f32);
  add_matmul("matmul_f32_geglu_4096x320x2560", 1, 4096, 320, 2560, DType::f32);
  add_matmul("matmul_f32_attn_64x256x32x256", 64, 256, 32, 256, DType::f32);
  if (dev.is_cuda()) {
    add_matmul("matmul_bf16_4096", 1, 4096, 4096, 4096, DType::bf16);
    add_matmul("matmul_bf16_proj_65536x1280x1280", 1, 65536, 1280, 1280, DType::bf16);
    add_matmul("matmul_f16_4096", 1, 4096, 4096, 4096, DType::f16);
  }

  const int64_t n = 4 << 20;  // 4M elements
  Tensor a = ops::randn({n}, opt), b = ops::randn({n}, opt);
  double bytes2 = 3.0 * n * 4, bytes1 = 2.0 * n * 4;
  cases.push_back({"add_4M", 0, bytes2, [a, b] { ops::binary(BinaryOp::add, a, b); }});
  cases.push_back({"mul_4M", 0, bytes2, [a, b] { ops::binary(BinaryOp::mul, a, b); }});
  cases.push_back({"add_bcast_4M", 0, bytes1, [a] { ops::binary(BinaryOp::add, a, 1.0); }});
  cases.push_back({"exp_4M", 0, bytes1, [a] { ops::unary(UnaryOp::exp, a); }});
  cases.push_back({"silu_4M", 0, bytes1, [a] { ops::unary(UnaryOp::silu, a); }});
  cases.push_back({"gelu_4M", 0, bytes1, [a] { ops::unary(UnaryOp::gelu_erf, a); }});
  Tensor t = ops::randn({2048, 2048}, opt);
  cases.push_back({"transpose_copy_2048", 0, 2.0 * 2048 * 2048 * 4,
                   [t] { ops::contiguous(ops::transpose(t, 0, 1)); }});

  Tensor s = ops::randn({4096, 1024}, opt);
  double sbytes = 2.0 * 4096 * 1024 * 4;
  cases.push_back({"softmax_4096x1024", 0, sbytes, [s] { ops::softmax(s, -1); }});
  cases.push_back({"log_softmax_4096x1024", 0, sbytes, [s] { ops::log_softmax(s, -1); }});
  cases.push_back({"sum_4M", 0, n * 4.0, [a] { ops::sum(a); }});
  cases.push_back({"sum_rows_4096x1024", 0, 4096 * 1024 * 4.0, [s] { ops::sum(s, {1}); }});
  cases.push_back({"sum_cols_4096x1024", 0, 4096 * 1024 * 4.0, [s] { ops::sum(s, {0}); }});
  cases.push_back({"amax_rows_4096x1024", 0, 4096 * 1024 * 4.0, [s] { ops::amax(s, {1}); }});
  cases.push_back({"var_rows_4096x1024", 0, 3 * 4096 * 1024 * 4.0, [s] { ops::var(s, {1}); }});
  return cases;
}

int run_ops(bool json, const std::string& filter, int repeats, Device dev) {
  if (dev.is_cuda() && !cuda_available()) {
    fmt::print(stderr, "trip-bench: no usable CUDA device; run with --device cpu\n");
    return 1;
  }
  std::function<void()> sync = [] {};
  if (dev.is_cuda()) sync = [] { cuda_synchronize(); };
  Peak peak = dev.is_cpu() ? measure_cpu_peak() : Peak{};
  if (!json) {
    fmt::print("device {} ({} threads); peak measured here: {:.0f} GFLOP/s f32, {:.1f} GB/s\n", dev,
               omp_get_max_threads(), peak.gflops, peak.gbps);
    fmt::print("{:<36} {:>10} {:>10} {:>8}\n", "case", "median ms", "rate", "of peak");
  }
  for (const Case& c : make_cases(dev)) {
    if (!filter.empty() && c.name.find(filter) == std::string::npos) continue;
    double ms = bench::median_ms(c.run, repeats, sync);
    bool compute = c.flops > 0;
    double rate = compute ? c.flops / ms / 1e6 : c.bytes / ms / 1e6;
    double of_peak = compute ? (peak.gflops > 0 ? rate / peak.gflops : 0)
                             : (peak.gbps > 0 ? rate / peak.gbps : 0);
    if (json) {
      fmt::print(
          "{{\"case\": \"{}\", \"device\": \"{}\", \"median_ms\": {:.4f}, \"{}\": {:.2f}}}\n",
          c.name, dev, ms, compute ? "gflops" : "gbps", rate);
    } else {
      fmt::print("{:<36} {:>10.3f} {:>6.1f} {:<6} {:>5.0f}%\n", c.name, ms, rate,
                 compute ? "GFLOP/s" : "GB/s", 100 * of_peak);
    }
    std::fflush(stdout);
  }
  return 0;
}

void usage() {
  fmt::print(
      "usage: trip-bench ops [--json] [--filter TEXT] [--repeats N] [--device cpu|cuda]\n"
      "       trip-bench peak\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage();
    return 2;
  }
  std::string command = argv[1];
  bool json = false;
  std::string filter;
  int repeats = 10;
  Device dev = kCPU;
  try {
    for (int i = 2; i < argc; ++i) {
      std::string arg = argv[i];
      auto value = [&]() -> std::string {
        TRIP_CHECK(i + 1 < argc, "trip-bench: {} needs a value", arg);
        return argv[++i];
      };
      if (arg == "--json")
        json = true;
      else if (arg == "--filter")
        filter = value();
      else if (arg == "--repeats")
        repeats = std::stoi(value());
      else if (arg == "--device")
        dev = Device(value());
      else
        fail("trip-bench: unknown argument '{}'", arg);
    }
    TRIP_CHECK(repeats > 0, "trip-bench: --repeats must be positive, got {}", repeats);
    if (command == "ops") return run_ops(json, filter, repeats, dev);
    if (command == "peak") {
      Peak p = measure_cpu_peak();
      fmt::print("cpu peak: {:.0f} GFLOP/s f32 (FMA loop, {} threads), {:.1f} GB/s (copy)\n",
                 p.gflops, omp_get_max_threads(), p.gbps);
      return 0;
    }
  } catch (const Error& e) {
    fmt::print(stderr, "{}\n", e.what());
    return 2;
  }
  usage();
  return 2;
}
