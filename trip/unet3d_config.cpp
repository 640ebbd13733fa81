// defines: UNet3DConfig's presets and checks.
#include "trip/unet3d_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "tensor/error.h"

namespace trip {

UNet3DConfig UNet3DConfig::tiny() {
  UNet3DConfig c;
  c.in_channels = 3;
  c.out_channels = 3;
  c.block_out_channels = {32, 64, 64};
  c.down_block_types = {"DownBlock3D", "CrossAttnDownBlock3D", "CrossAttnDownBlock3D"};
  c.up_block_types = {"CrossAttnUpBlock3D", "CrossAttnUpBlock3D", "UpBlock3D"};
  c.layers_per_block = 1;
  c.norm_num_groups = 8;
  c.attention_head_dim = 8;
  c.cross_attention_dim = 64;
  return c;
}

UNet3DConfig UNet3DConfig::modelscope() {
  // The member defaults are diffusers' UNet3DConditionModel defaults, which equal the ms-1.7b
  // unet config (in/out 4, (320, 640, 1280, 1280), 2 layers, 32 groups, head dim 64, 1024).
  return UNet3DConfig{};
}

void UNet3DConfig::validate() const {
  const size_t n = block_out_channels.size();
  TRIP_CHECK(n >= 1, "UNet3DConfig: block_out_channels is empty");
  TRIP_CHECK(down_block_types.size() == n && up_block_types.size() == n,
             "UNet3DConfig: {} block_out_channels but {} down_block_types and {} up_block_types", n,
             down_block_types.size(), up_block_types.size());
  TRIP_CHECK(in_channels > 0 && out_channels > 0,
             "UNet3DConfig: in_channels {} and out_channels {} must be positive", in_channels,
             out_channels);
  TRIP_CHECK(layers_per_block >= 1, "UNet3DConfig: layers_per_block must be >= 1, got {}",
             layers_per_block);
  TRIP_CHECK(norm_num_groups >= 1 && attention_head_dim >= 1 && cross_attention_dim >= 1,
             "UNet3DConfig: norm_num_groups {}, attention_head_dim {}, cross_attention_dim {} "
             "must be positive",
             norm_num_groups, attention_head_dim, cross_attention_dim);
  TRIP_CHECK(dropout >= 0 && dropout < 1 && temporal_dropout >= 0 && temporal_dropout < 1,
             "UNet3DConfig: dropout {} and temporal_dropout {} must be in [0, 1)", dropout,
             temporal_dropout);
  for (size_t i = 0; i < n; ++i) {
    const int64_t c = block_out_channels[i];
    TRIP_CHECK(c > 0 && c % norm_num_groups == 0,
               "UNet3DConfig: block_out_channels[{}] = {} is not a positive multiple of "
               "norm_num_groups {}",
               i, c, norm_num_groups);
    TRIP_CHECK(down_block_types[i] == "DownBlock3D" || is_cross_attention_down(i),
               "UNet3DConfig: unknown down block type '{}' (DownBlock3D, CrossAttnDownBlock3D)",
               down_block_types[i]);
    TRIP_CHECK(up_block_types[i] == "UpBlock3D" || is_cross_attention_up(i),
               "UNet3DConfig: unknown up block type '{}' (UpBlock3D, CrossAttnUpBlock3D)",
               up_block_types[i]);
    // Every block of C channels has C / attention_head_dim heads (the mid block too).
    const bool attends =
        is_cross_attention_down(i) || is_cross_attention_up(n - 1 - i) || i == n - 1;
    TRIP_CHECK(!attends || c % attention_head_dim == 0,
               "UNet3DConfig: block_out_channels[{}] = {} is not a multiple of "
               "attention_head_dim {}",
               i, c, attention_head_dim);
  }
}

std::string UNet3DConfig::to_string() const {
  return fmt::format(
      "UNet3DConfig(in_channels={}, out_channels={}, block_out_channels={}, down_block_types={}, "
      "up_block_types={}, layers_per_block={}, norm_num_groups={}, attention_head_dim={}, "
      "cross_attention_dim={}, norm_eps={}, dropout={}, temporal_dropout={}, "
      "gradient_checkpointing={}, frame_position_embedding={})",
      in_channels, out_channels, block_out_channels, down_block_types, up_block_types,
      layers_per_block, norm_num_groups, attention_head_dim, cross_attention_dim, norm_eps, dropout,
      temporal_dropout, gradient_checkpointing, frame_position_embedding);
}

}  // namespace trip
