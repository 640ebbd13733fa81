// defines: TripModel, TRIP as a whole (TRIP.md sections 2-6): the image noise prior (shortcut
// path), the UNet3D residual path with the configured first-frame conditioning, the configured
// fusion (TNF, linear, none), the training loss and DDIM sampling with the prior recomputed at
// every step. Parameter names: `unet.*`, `tnf.*`, `caption_encoder.*`.
#pragma once
#include <memory>
#include <optional>
#include <vector>

#include "diffusion/forward.h"
#include "diffusion/sampler.h"
#include "diffusion/schedule.h"
#include "diffusion/timesteps.h"
#include "nn/optim/adamw.h"
#include "trip/caption_encoder.h"
#include "trip/temporal_noise_fusion.h"
#include "trip/trip_config.h"
#include "trip/unet3d.h"

namespace trip {

struct SampleOptions {
  int64_t steps = 50;     // DDIM steps (TRIP.md section 6)
  double eta = 0.0;       // 0: deterministic DDIM
  double guidance = 1.0;  // classifier-free guidance scale; 1: no guidance (one pass per step)
  uint64_t seed = 0;      // z_T and eta's noise
  diffusion::TimestepSpacing spacing = diffusion::TimestepSpacing::leading;
  // Unconditional context for guidance; undefined: the empty caption (internal encoder only).
  Tensor uncond_context;
  diffusion::ProgressCallback progress;
};

class TripModel : public nn::Module {
 public:
  // Validates the config; draws the initial weights from the default generator.
  explicit TripModel(const TripConfig& config);

  // Caption ids [B, L] (WordTokenizer, L = context_length) -> context [B, L, D]. Internal
  // caption encoder only.
  Tensor encode_captions(const Tensor& ids) const;
  // The context of B empty captions (the unconditional input of guidance). Internal encoder only.
  Tensor empty_context(int64_t batch) const;

  // The residual noise Delta_eps [B, C, N, H, W] from the UNet3D for the noisy clip z_t and the
  // clean first frame z0_first [B, C, H, W], conditioned as the config says (TRIP.md section 3):
  // the UNet's output itself, or with `prediction` v the noise it stands for.
  Tensor residual_noise(const Tensor& z_t, const Tensor& t, const Tensor& z0_first,
                        const Tensor& context) const;
  // The final noise estimate eps_tilde [B, C, N, H, W]: prior and residual fused (section 4).
  // t: integer [B].
  Tensor predict_noise(const Tensor& z_t, const Tensor& t, const Tensor& z0_first,
                       const Tensor& context) const;
  // The training loss of section 5 for clean clips [B, C, N, H, W] (frame 0 is the given image),
  // timesteps t [B] and noise of the clip's shape: mean ||noise - eps_tilde||^2 (the paper's),
  // or with `weighting` each clip's term weighted by diffusion::snr_loss_weights.
  Tensor loss(const Tensor& clip, const Tensor& t, const Tensor& noise, const Tensor& context,
              const diffusion::SnrWeighting& weighting = {}) const;
  // Animates first frames [B, C, H, W] into clips [B, C, N, H, W] by DDIM (section 6), under
  // no-grad, in eval mode for the call (the train/eval mode is restored afterwards).
  Tensor sample(const Tensor& first_frame, const Tensor& context,
                const SampleOptions& options = {});

  // TRIP's two AdamW groups (section 5): "unet" (UNet3D and caption encoder) and "tnf".
  std::vector<nn::ParamGroup> parameter_groups(double unet_lr, double tnf_lr,
                                               double weight_decay = 0.01) const;

  const TripConfig& config() const { return config_; }
  const diffusion::NoiseSchedule& schedule() const { return schedule_; }
  std::string extra_repr() const override;

  std::shared_ptr<UNet3D> unet;
  std::shared_ptr<TemporalNoiseFusion> tnf;         // fusion == tnf only
  std::shared_ptr<CaptionEncoder> caption_encoder;  // internal_caption_encoder only

 private:
  // The UNet3D's output for the N frames of z_t, conditioned on z0_first.
  Tensor unet_output(const Tensor& z_t, const Tensor& t, const Tensor& z0_first,
                     const Tensor& context) const;
  Tensor fuse(const Tensor& residual, const Tensor& prior, const Tensor& t) const;
  TripConfig config_;
  diffusion::NoiseSchedule schedule_;
};

}  // namespace trip
