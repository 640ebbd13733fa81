// defines: `trip-bench step`, the cost of one TRIP training step (caption encoder, loss, backward,
// AdamW) on random data: median time per step, memory peaks, and the forward and forward+backward
// time of each top-level part of the model.
#pragma once
#include <cstdint>
#include <string>

#include "tensor/device.h"

namespace trip::bench {

struct StepOptions {
  std::string preset = "tiny";
  int64_t batch = 4, frames = 8, size = 32;
  int repeats = 10;
  bool json = false;
  bool parts = true;  // false (--no-parts): the step alone
  Device device = kCPU;
};

// Prints the report (human-readable, or JSON lines with --json); returns the exit status.
int run_step(const StepOptions& options);

}  // namespace trip::bench
