// defines: Case, one timed benchmark case (a name, its work in FLOPs or bytes, and the function to
// time), and the two case lists of trip-bench: the ops of the tensor layer and the layers of nn/.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "tensor/device.h"

namespace trip::bench {

struct Case {
  std::string name;
  double flops = 0;  // per run; 0 for memory-bound cases
  double bytes = 0;  // per run: bytes read + written
  std::function<void()> run;
};

std::vector<Case> op_cases(Device dev);     // bench/op_cases.cpp
std::vector<Case> layer_cases(Device dev);  // bench/layer_cases.cpp

}  // namespace trip::bench
