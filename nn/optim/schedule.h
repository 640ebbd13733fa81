// defines: learning-rate schedules as pure functions of the optimizer step (0-based: the lr for
// the update numbered `step`), so a resumed run gets the same lr from the saved step alone.
// Call AdamW::set_lr(group, schedule(step)) before each step.
#pragma once
#include <cstdint>

namespace trip::nn {

// Linear warm-up then constant (diffusers' get_constant_schedule_with_warmup):
//   lr(step) = base_lr * step / warmup_steps   for step < warmup_steps
//            = base_lr                          afterwards (and always when warmup_steps == 0).
// Note lr(0) = 0 when warming up, as in diffusers.
double constant_with_warmup(int64_t step, double base_lr, int64_t warmup_steps);

// Linear warm-up then a half cosine from base_lr down to min_lr at total_steps
// (diffusers' get_cosine_schedule_with_warmup with num_cycles = 0.5, plus a floor):
//   step < warmup_steps:  lr = base_lr * step / warmup_steps
//   otherwise:            p  = min(1, (step - warmup_steps) / max(1, total_steps - warmup_steps))
//                         lr = min_lr + (base_lr - min_lr) * (1 + cos(pi * p)) / 2
// so lr(warmup_steps) = base_lr and lr(step >= total_steps) = min_lr.
double cosine_with_warmup(int64_t step, double base_lr, int64_t warmup_steps, int64_t total_steps,
                          double min_lr = 0.0);

}  // namespace trip::nn
