// trip-bench: times the engine's ops and layers. `trip-bench ops|layers [--json] [--filter TEXT]
// [--repeats N] [--device cpu|cuda]` prints one line per case: the median time over repeats and
// GFLOP/s (compute- bound cases) or GB/s (memory-bound cases), next to the machine's measured peak
// (`trip-bench peak`). `trip-bench step` times one TRIP training step (bench/step_case.h).
// bench/README.md explains how to read the figures.
#include <fmt/core.h>
#include <omp.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "bench/cases.h"
#include "bench/peak.h"
#include "bench/step_case.h"
#include "bench/timing.h"
#include "tensor/backend.h"
#include "tensor/cuda_memory.h"
#include "tensor/ops.h"

using namespace trip;

namespace {

int run_cases(const std::vector<bench::Case>& cases, bool json, const std::string& filter,
              int repeats, Device dev) {
  std::function<void()> sync = [] {};
  if (dev.is_cuda()) sync = [] { cuda_synchronize(); };
  Peak peak = dev.is_cpu() ? measure_cpu_peak() : Peak{};
  if (!json) {
    fmt::print("device {} ({} threads); peak measured here: {:.0f} GFLOP/s f32, {:.1f} GB/s\n", dev,
               omp_get_max_threads(), peak.gflops, peak.gbps);
    fmt::print("{:<36} {:>10} {:>10} {:>8}\n", "case", "median ms", "rate", "of peak");
  }
  for (const bench::Case& c : cases) {
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
      "usage: trip-bench ops|layers [--json] [--filter TEXT] [--repeats N] [--device cpu|cuda]\n"
      "       trip-bench step [--preset tiny] [--batch 4] [--frames 8] [--size 32] [--repeats N]\n"
      "                       [--no-parts] [--json] [--device cpu|cuda]\n"
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
  bench::StepOptions step;
  bool repeats_given = false;
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
        repeats = std::stoi(value()), repeats_given = true;
      else if (command == "step" && arg == "--preset")
        step.preset = value();
      else if (command == "step" && arg == "--batch")
        step.batch = std::stoll(value());
      else if (command == "step" && arg == "--frames")
        step.frames = std::stoll(value());
      else if (command == "step" && arg == "--size")
        step.size = std::stoll(value());
      else if (command == "step" && arg == "--no-parts")
        step.parts = false;
      else if (arg == "--device")
        dev = Device(value());
      else
        fail("trip-bench: unknown argument '{}'", arg);
    }
    TRIP_CHECK(repeats > 0, "trip-bench: --repeats must be positive, got {}", repeats);
    if (command == "ops" || command == "layers") {
      if (dev.is_cuda() && !cuda_available()) {
        fmt::print(stderr, "trip-bench: no usable CUDA device; run with --device cpu\n");
        return 1;
      }
      auto cases = command == "ops" ? bench::op_cases(dev) : bench::layer_cases(dev);
      return run_cases(cases, json, filter, repeats, dev);
    }
    if (command == "step") {
      if (dev.is_cuda() && !cuda_available()) {
        fmt::print(stderr, "trip-bench: no usable CUDA device; run with --device cpu\n");
        return 1;
      }
      step.json = json;
      step.device = dev;
      if (repeats_given) step.repeats = repeats;
      return bench::run_step(step);
    }
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
