// Slow: the modelscope preset at full size (about 1.4B parameters, 5.6 GB in float32).
#include <doctest/doctest.h>

#include "trip/unet3d.h"

using namespace trip;

TEST_CASE("UNet3D modelscope preset has the parameter count of ms-1.7b's UNet") {
  // 1,411,233,860: printed by `scripts/make_unet3d_fixture.py --modelscope-count`, which builds
  // diffusers 0.31's UNet3DConditionModel with ali-vilab/text-to-video-ms-1.7b's unet config
  // and sums numel() over its parameters.
  const int64_t diffusers_count = 1411233860;
  UNet3D model(UNet3DConfig::modelscope());
  CHECK(model.num_parameters() == diffusers_count);
  // Spot checks of the largest names: the mid block and the widest up block's shortcut.
  const auto params = model.named_parameters();
  bool found_mid = false, found_shortcut = false;
  for (const auto& [name, p] : params) {
    if (name == "mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight") {
      found_mid = true;
      CHECK(p.shape() == Dims{1280, 1024});
    }
    if (name == "up_blocks.3.resnets.0.conv_shortcut.weight") {
      found_shortcut = true;
      CHECK(p.shape() == Dims{320, 960, 1, 1});
    }
  }
  CHECK(found_mid);
  CHECK(found_shortcut);
}
