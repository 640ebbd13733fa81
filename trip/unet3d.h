// defines: UNet3D, TRIP's residual-noise network (TRIP.md section 3): diffusers'
// UNet3DConditionModel (ModelScope T2V) with the same parameter names, so its safetensors load by
// name, and the same computation. The 2D parts (ResNet blocks, spatial transformers, resamplers)
// see frames folded into the batch, [B * F, C, H, W] with the frames of one clip adjacent; the
// temporal parts unfold them (TemporalConvLayer, TransformerTemporalModel).
#pragma once
#include <memory>

#include "nn/conv.h"
#include "nn/module.h"
#include "nn/norm.h"
#include "nn/timestep.h"
#include "trip/transformer_blocks.h"
#include "trip/unet3d_blocks.h"
#include "trip/unet3d_config.h"

namespace trip {

class UNet3D : public nn::Module {
 public:
  // Initialisation: PyTorch's defaults for every layer, zeros for the last conv of every
  // TemporalConvLayer (as diffusers); draws from the default generator (trip::manual_seed).
  explicit UNet3D(const UNet3DConfig& config);

  // sample [B, in_channels, F, H, W] (H and W multiples of 2^(number of up samplers)),
  // timestep [B] or [1] / [] (broadcast over the batch; integer or floating), context
  // [B, L, cross_attention_dim] -> [B, out_channels, F, H, W]. Like diffusers, the result is a
  // permuted view of a [B, F, C, H, W] tensor (not contiguous).
  Tensor forward(const Tensor& sample, const Tensor& timestep, const Tensor& context) const;

  const UNet3DConfig& config() const { return config_; }
  std::string extra_repr() const override;

  std::shared_ptr<nn::Conv2d> conv_in, conv_out;
  std::shared_ptr<nn::Timesteps> time_proj;
  std::shared_ptr<nn::TimestepEmbedding> time_embedding;
  std::shared_ptr<TransformerTemporalModel> transformer_in;
  std::shared_ptr<nn::ModuleList> down_blocks, up_blocks;  // DownBlock3D / UpBlock3D
  std::shared_ptr<UNetMidBlock3DCrossAttn> mid_block;
  std::shared_ptr<nn::GroupNorm> conv_norm_out;  // followed by SiLU (fused)

 private:
  UNet3DConfig config_;
  int64_t num_upsamplers_ = 0;
};

}  // namespace trip
