// A micro TRIP for tests: 2 channels, 3 frames of 8x8, two UNet levels; runs in milliseconds.
#pragma once
#include "trip/trip_config.h"

namespace trip::testing {

inline TripConfig micro_config(Conditioning conditioning = Conditioning::temporal_start,
                               Fusion fusion = Fusion::tnf) {
  TripConfig c = TripConfig::tiny();
  c.channels = 2;
  c.frames = 3;
  c.size = 8;
  c.conditioning = conditioning;
  c.fusion = fusion;
  c.context_length = 4;
  c.unet.block_out_channels = {8, 16};
  c.unet.down_block_types = {"DownBlock3D", "CrossAttnDownBlock3D"};
  c.unet.up_block_types = {"CrossAttnUpBlock3D", "UpBlock3D"};
  c.unet.norm_num_groups = 4;
  c.unet.attention_head_dim = 4;
  c.unet.cross_attention_dim = 8;
  c.tnf.width = 8;
  c.tnf.heads = 2;
  c.caption.vocab_size = 10;
  c.caption.layers = 1;
  c.caption.heads = 2;
  return c;
}

}  // namespace trip::testing
