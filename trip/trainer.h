// defines: Trainer, one TRIP training run in memory (TRIP.md section 5): the model, AdamW with the
// "unet" and "tnf" groups, warm-up/cosine lr, gradient clipping, EMA, caption dropout, NaN/Inf
// handling, and checkpoints that resume bit for bit on the CPU. It knows nothing of files of
// media: the caller (the `trip train` command) feeds batches and keeps the run folder.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nn/optim/adamw.h"
#include "nn/optim/ema.h"
#include "trip/tokenizer.h"
#include "trip/train_config.h"
#include "trip/trip_model.h"

namespace trip {

struct StepStats {
  int64_t step = 0;      // optimizer steps done after this one (1-based for the first)
  double loss = 0;       // NaN when skipped for a non-finite loss
  double grad_norm = 0;  // before clipping; NaN when skipped
  double unet_lr = 0, tnf_lr = 0;
  bool skipped = false;  // non-finite loss or gradient: no update was made
};

class Trainer {
 public:
  // Builds the model (weights from config.seed) with the tokenizer's vocabulary size.
  Trainer(const TrainConfig& config, WordTokenizer tokenizer);

  // One optimizer step on clips [B, C, N, H, W] in [-1, 1] with their captions (B of them).
  // Draws t, noise and caption dropout from the run's generator. A non-finite loss or gradient
  // skips the update (counted); more than config.max_bad_steps in a row throws trip::Error.
  StepStats train_step(const Tensor& clips, const std::vector<std::string>& captions);

  int64_t step() const { return step_; }
  int64_t skipped_steps() const { return skipped_total_; }
  TripModel& model() { return *model_; }
  const TrainConfig& config() const { return config_; }
  const WordTokenizer& tokenizer() const { return tokenizer_; }
  // Caption ids [B, context_length] for the model's internal encoder.
  Tensor caption_ids(const std::vector<std::string>& captions) const;

  // Writes everything needed to continue (model, optimizer, EMA, step, generators, and the
  // caller's `extra` JSON object, e.g. the loader's position) atomically to `path`.
  void save(const std::string& path, const std::string& extra = "{}") const;
  // Restores a checkpoint written by save() of a run with the same config; returns its `extra`.
  // Checks everything first: a mismatched file throws and changes nothing.
  std::string resume(const std::string& path);
  // Copies the EMA weights into the model (for sampling); no-op without EMA. Returns whether it
  // did; restore_training_weights() undoes it.
  bool use_ema_weights();
  void restore_training_weights();

 private:
  TrainConfig config_;
  WordTokenizer tokenizer_;
  std::shared_ptr<TripModel> model_;
  std::unique_ptr<nn::AdamW> optimizer_;
  std::unique_ptr<nn::EMA> ema_;
  ops::Generator gen_;  // t, noise, caption dropout
  int64_t step_ = 0, bad_in_a_row_ = 0, skipped_total_ = 0;
  nn::NamedTensors saved_weights_;  // training weights while the EMA ones are in the model
};

}  // namespace trip
