// defines: TrainArgs and run_training, the training loop of `trip train` (train_command.cpp) as
// a function, so that `trip ablate` trains its variants with exactly the same code.
#pragma once
#include <cstdint>
#include <string>

namespace trip::cli {

struct TrainArgs {
  std::string config = "tiny", data, out;  // config: preset name or TrainConfig JSON file
  int64_t steps = 0, batch = 0;            // 0: as the config says
  bool resume = false;
  int loader_threads = 2;
};

// Trains (or, with resume, continues) the run in args.out: checkpoints, config.json,
// metrics.jsonl and loss.png there. Returns normally when done, when there was nothing to do, or
// after Ctrl-C (a checkpoint is saved; the run then holds no checkpoint of its final step).
void run_training(const TrainArgs& args);

}  // namespace trip::cli
