// The doctest entry point shared by the test programs. Prints one line saying whether the CUDA
// comparisons run here, so a skipped GPU check is never silent.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <fmt/core.h>

#include "tensor/backend.h"

int main(int argc, char** argv) {
  if (!trip::cuda_available()) {
    fmt::print("note: no usable CUDA device: CPU-vs-CUDA comparisons are skipped\n");
  }
  doctest::Context context(argc, argv);
  return context.run();
}
