// defines: evaluate_checkpoint, what `trip eval` does (eval_command.cpp) as a function that
// `trip ablate` reuses: animate the first frames of held-out clips and compare the videos with
// the real clips (trip/eval_metrics.h; definitions in trip/README.md, "Evaluation").
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "trip/eval_metrics.h"

namespace trip::cli {

struct EvalArgs {
  std::string ckpt, data;
  std::string json;  // write the result here (empty: no file)
  std::string out;   // folder for sample GIFs and a grid (empty: none)
  int64_t clips = 16, steps = 50, batch = 8;
  double guidance = 1.0;
  std::string spacing = "leading";  // DDIM timestep spacing (diffusers' names)
  uint64_t seed = 0;
  bool no_ema = false;
  bool quiet = false;  // no table (the caller prints its own)
};

struct EvalResult {
  eval::ClipMetrics metrics;
  // The same metrics per kind of clip: the motion of a synthetic video (its origin
  // "synthetic:<motion>:..."), "other" for imported ones. Sorted by kind.
  std::vector<std::pair<std::string, eval::ClipMetrics>> by_kind;
  nlohmann::json settings;  // checkpoint, data, clips, steps, seed, ema, eval_every, fps, ...
  nlohmann::json to_json() const;  // {"settings": ..., "metrics": ...}
};

EvalResult evaluate_checkpoint(const EvalArgs& args);
// The printed table of one evaluation: generated and real columns.
std::string eval_table(const eval::ClipMetrics& m);
// One line per kind: clips, first-frame PSNR, motion ratio, motion tracking.
std::string kind_table(const std::vector<std::pair<std::string, eval::ClipMetrics>>& by_kind);

}  // namespace trip::cli
