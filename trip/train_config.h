// defines: TrainConfig, the whole configuration of a training run (TRIP.md section 5): the model
// (TripConfig), the optimisation (two AdamW groups, warm-up, clipping, EMA), the data sampling and
// the run's bookkeeping. Presets `tiny` and `modelscope`; JSON with unknown keys rejected. Every
// key is documented in trip/README.md.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "trip/trip_config.h"

namespace trip {

struct TrainConfig {
  TripConfig model = TripConfig::tiny();
  int64_t steps = 2000;   // optimizer steps in the run
  int64_t batch = 4;      // clips per step
  double unet_lr = 2e-4;  // group "unet" (UNet3D + caption encoder); paper: 2e-6 fine-tuning
  double tnf_lr = 2e-4;   // group "tnf" (TNF, from scratch)
  std::string lr_schedule = "constant";  // "constant" or "cosine" (both after warm-up)
  int64_t warmup_steps = 50;
  double min_lr_fraction = 0.0;  // cosine: final lr as a fraction of the base lr
  double weight_decay = 0.01;
  double grad_clip = 1.0;  // max global gradient norm; 0 turns clipping off
  // Loss weighting in x0 terms clamp(SNR, snr_floor, snr_gamma) (diffusion::snr_loss_weights);
  // both 0: the paper's unweighted epsilon loss.
  double snr_floor = 0;
  double snr_gamma = 0;
  // How t is drawn for each clip: "uniform" over [0, T) (the paper, DDPM) or "logit_normal"
  // (t / T = sigmoid(timestep_mean + timestep_std * n), diffusion::sample_timesteps_logit_normal).
  std::string timesteps = "uniform";
  double timestep_mean = -0.8;  // logit_normal only; -0.8: the median t is 0.31 T
  double timestep_std = 1.0;
  double ema_decay = 0.999;        // 0 turns the EMA off
  int64_t max_bad_steps = 10;      // consecutive NaN/Inf steps tolerated before stopping
  uint64_t seed = 0;               // initial weights, noise, timesteps, caption dropout, shuffling
  double fps = 4.0;                // clips are sampled at this frame rate (frames from the model)
  int64_t eval_every = 10;         // every k-th video of the dataset is held out (eval, samples)
  int64_t vocab_max = 4096;        // caption vocabulary cap (special tokens included)
  int64_t checkpoint_every = 200;  // steps between checkpoints (and at the end, and on Ctrl-C)
  int64_t keep_checkpoints = 3;    // newest checkpoints kept in the run folder
  int64_t log_every = 10;          // steps between log lines / metrics records

  static TrainConfig tiny();
  static TrainConfig modelscope();
  static TrainConfig from_preset(std::string_view name);  // "tiny" or "modelscope"

  // The base lr of `group` ("unet" or "tnf") at optimizer step `step` (0-based).
  double lr_at(std::string_view group, int64_t step) const;
  void validate() const;  // throws naming the first bad key
  std::string to_json() const;
  // Starts from the preset named by "preset" (default tiny); "model" holds TripConfig keys.
  // Unknown keys, wrong types and bad values throw naming the key.
  static TrainConfig from_json(std::string_view text);
};

}  // namespace trip
