// defines: TripConfig, everything that defines a TRIP model (TRIP.md sections 1-6): the clip
// shape, the noise schedule, the conditioning and fusion variants (the paper's ablations), the
// UNet3D, TNF and caption encoder hyper-parameters. Presets `tiny` and `modelscope`; JSON in and
// out with every key checked (unknown keys are an error), so a checkpoint records its model.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "trip/caption_encoder.h"
#include "trip/temporal_noise_fusion.h"
#include "trip/unet3d_config.h"

namespace trip {

// How the clean first frame z_0^1 reaches the UNet (TRIP.md section 3, the paper's Table 5).
enum class Conditioning {
  temporal_start,  // TRIP: frames {z_0^1, z_t^1..z_t^N}; the first output frame is dropped
  temporal_end,    // TRIP_TE: frames {z_t^1..z_t^N, z_0^1}; the last output frame is dropped
  channel,         // TRIP_C: frame i gets channels [z_t^i ; z_0^1]
};
// How the image noise prior and the UNet's residual become the noise estimate (section 4).
enum class Fusion {
  tnf,     // TRIP: Temporal Noise Fusion
  linear,  // TRIP^W: lambda_i prior + (1 - lambda_i) residual, lambda linear in the frame index
  none,    // TRIP^-: the residual alone
};

// What the UNet3D's output stands for before it is fused as the residual noise Delta_eps (a
// project option; the paper's UNet predicts noise).
enum class Prediction {
  epsilon,  // the paper: the output is Delta_eps
  // The output is v (Salimans & Ho 2022), Delta_eps = sqrt(1 - ab_t) z_t + sqrt(ab_t) v: where
  // the prior is already nearly the true noise (large t), the motion is an O(1) part of v but only
  // a sqrt(SNR_t) ~ 0.01 part of the noise.
  v,
};

std::string_view conditioning_name(Conditioning c);
std::string_view fusion_name(Fusion f);
std::string_view prediction_name(Prediction p);
Conditioning conditioning_from_name(std::string_view name);  // throws listing the valid names
Fusion fusion_from_name(std::string_view name);
Prediction prediction_from_name(std::string_view name);

struct TripConfig {
  std::string preset = "tiny";
  int64_t channels = 3;             // C of the (latent) frames: 3 in pixel space, 4 for the SD VAE
  int64_t frames = 8;               // N generated frames
  int64_t size = 32;                // H = W of the (latent) frames
  std::string schedule = "linear";  // diffusion::NoiseSchedule::from_name
  int64_t train_timesteps = 1000;   // T
  Conditioning conditioning = Conditioning::temporal_start;
  Fusion fusion = Fusion::tnf;
  Prediction prediction = Prediction::epsilon;
  double lambda_first = 1.0, lambda_last = 0.5;  // TRIP^W's weights at frame 1 and frame N
  // Sampling: clip predicted x0 to [-r, r] (pixel space: 1); 0 turns clipping off (latents).
  double sample_clip = 1.0;
  // Probability of replacing a caption by the empty one in training (classifier-free guidance).
  double caption_dropout = 0.1;
  // The caption encoder trained with the model (tiny); false: external features of shape
  // [B, context_length, unet.cross_attention_dim] are given (modelscope: OpenCLIP, 77 x 1024).
  bool internal_caption_encoder = true;
  int64_t context_length = 16;  // tokens per caption (internal) or feature rows (external)
  // in_channels/out_channels are derived from channels and conditioning (see unet_config()).
  // The tiny preset trains from scratch, so its temporal transformers see frame positions
  // (UNet3DConfig::frame_position_embedding); the modelscope preset keeps diffusers' computation.
  UNet3DConfig unet = [] {
    UNet3DConfig u = UNet3DConfig::tiny();
    u.frame_position_embedding = true;
    return u;
  }();
  TnfConfig tnf;                 // channels derived from `channels`
  CaptionEncoderConfig caption;  // vocab_size set from the tokenizer; width = cross_attention_dim

  static TripConfig tiny();
  static TripConfig modelscope();
  static TripConfig from_preset(std::string_view name);  // "tiny" or "modelscope"

  // The UNet3D's config with in_channels (C or 2C for TRIP_C) and out_channels = C filled in.
  UNet3DConfig unet_config() const;
  TnfConfig tnf_config() const;
  CaptionEncoderConfig caption_config() const;
  // Throws trip::Error naming the first inconsistent field.
  void validate() const;

  // JSON object with every key; from_json starts from the preset named by "preset" (default
  // tiny) and overrides the keys given. Unknown keys, wrong types and invalid values throw,
  // naming the key path (e.g. "unet.layers_per_block").
  std::string to_json() const;
  static TripConfig from_json(std::string_view text);
};

}  // namespace trip
