// Learning-rate schedules (formulas in schedule.h).
#include "nn/optim/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "tensor/error.h"

namespace trip::nn {

double constant_with_warmup(int64_t step, double base_lr, int64_t warmup_steps) {
  TRIP_CHECK(step >= 0 && warmup_steps >= 0,
             "constant_with_warmup: step ({}) and warmup_steps ({}) must be >= 0", step,
             warmup_steps);
  if (step < warmup_steps) return base_lr * double(step) / double(warmup_steps);
  return base_lr;
}

double cosine_with_warmup(int64_t step, double base_lr, int64_t warmup_steps, int64_t total_steps,
                          double min_lr) {
  TRIP_CHECK(step >= 0 && warmup_steps >= 0 && total_steps >= warmup_steps,
             "cosine_with_warmup: need step ({}) >= 0 and 0 <= warmup_steps ({}) <= total_steps "
             "({})",
             step, warmup_steps, total_steps);
  if (step < warmup_steps) return base_lr * double(step) / double(warmup_steps);
  double progress =
      double(step - warmup_steps) / double(std::max<int64_t>(1, total_steps - warmup_steps));
  progress = std::min(1.0, progress);
  return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace trip::nn
