// defines: UNet3DConfig, the hyper-parameters of UNet3D with diffusers' names and meanings
// (UNet3DConditionModel's config), and its presets tiny() and modelscope() (TRIP.md section 3).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace trip {

struct UNet3DConfig {
  int64_t in_channels = 4;
  int64_t out_channels = 4;
  std::vector<int64_t> block_out_channels = {320, 640, 1280, 1280};
  // "DownBlock3D" / "CrossAttnDownBlock3D" and "UpBlock3D" / "CrossAttnUpBlock3D", one per entry
  // of block_out_channels; up blocks are listed from the lowest resolution up.
  std::vector<std::string> down_block_types = {"CrossAttnDownBlock3D", "CrossAttnDownBlock3D",
                                               "CrossAttnDownBlock3D", "DownBlock3D"};
  std::vector<std::string> up_block_types = {"UpBlock3D", "CrossAttnUpBlock3D",
                                             "CrossAttnUpBlock3D", "CrossAttnUpBlock3D"};
  int64_t layers_per_block = 2;  // up blocks have one more
  int64_t norm_num_groups = 32;
  // diffusers' UNet3D semantics (its issue 2011): transformer_in has 8 heads of this width, and a
  // block of C channels has C / attention_head_dim heads of attention_head_dim channels.
  int64_t attention_head_dim = 64;
  int64_t cross_attention_dim = 1024;
  double norm_eps = 1e-5;               // ResNet blocks and conv_norm_out
  double dropout = 0.0;                 // the ResNet blocks' dropout (diffusers: 0)
  double temporal_dropout = 0.1;        // TemporalConvLayer's dropout (fixed at 0.1 in diffusers)
  bool gradient_checkpointing = false;  // recompute each down/mid/up block during backward
  // Not in diffusers: add a fixed sinusoidal embedding of the frame index to the tokens of every
  // temporal transformer (after proj_in, as AnimateDiff's motion modules do). Without it the
  // temporal attention cannot tell frames apart and only the zero padding of the temporal convs
  // says where a frame sits in the clip; a model trained from scratch then barely learns motion
  // (trip/README.md). No parameters: weights load either way, but ModelScope's were trained
  // without it, so it is off by default (and in both UNet presets); TripConfig::tiny() turns it on.
  bool frame_position_embedding = false;

  // TRIP.md's tiny preset: pixel space (3 channels), (32, 64, 64), 1 layer, 8 groups.
  static UNet3DConfig tiny();
  // ali-vilab/text-to-video-ms-1.7b's unet/config.json (ModelScope T2V, about 1.4B parameters).
  static UNet3DConfig modelscope();

  // Throws trip::Error naming the first inconsistent field.
  void validate() const;
  bool is_cross_attention_down(size_t i) const {
    return down_block_types[i] == "CrossAttnDownBlock3D";
  }
  bool is_cross_attention_up(size_t i) const { return up_block_types[i] == "CrossAttnUpBlock3D"; }
  std::string to_string() const;
};

}  // namespace trip
