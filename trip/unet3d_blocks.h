// defines: the blocks of UNet3D with diffusers' names: DownBlock3D (also CrossAttnDownBlock3D),
// UNetMidBlock3DCrossAttn, UpBlock3D (also CrossAttnUpBlock3D). One "layer" of a block is
// ResnetBlock2D -> TemporalConvLayer [-> Transformer2DModel -> TransformerTemporalModel]. All
// tensors have frames folded into the batch: [B * F, C, H, W].
#pragma once
#include <memory>
#include <vector>

#include "nn/module.h"
#include "nn/sampling.h"
#include "trip/resnet_block.h"
#include "trip/transformer_blocks.h"
#include "trip/unet3d_config.h"

namespace trip {

// The shared layer lists (`resnets`, `temp_convs`, `attentions`, `temp_attentions`) and the
// layer computation of the three block kinds.
class UNet3DBlockBase : public nn::Module {
 public:
  UNet3DBlockBase(std::string type_name, bool cross_attention)
      : Module(std::move(type_name)), has_cross_attention(cross_attention) {}
  // Adds a layer: ResnetBlock2D(in -> out) and a TemporalConvLayer, plus the two transformers
  // with out / attention_head_dim heads of attention_head_dim channels when with_attention.
  void add_layer(int64_t in, int64_t out, int64_t temb_channels, const UNet3DConfig& config,
                 bool with_attention);
  // x [B*F, C, H, W], temb_act [B*F, T] (silu of the time embedding), context [B*F, L, D].
  Tensor layer(size_t i, const Tensor& x, const Tensor& temb_act, const Tensor& context,
               int64_t num_frames) const;
  size_t num_layers() const { return resnets->size(); }

  bool has_cross_attention;
  std::shared_ptr<nn::ModuleList> resnets, temp_convs, attentions, temp_attentions;

 protected:
  void register_lists();
};

// diffusers' DownBlock3D / CrossAttnDownBlock3D.
class DownBlock3D : public UNet3DBlockBase {
 public:
  DownBlock3D(int64_t in_channels, int64_t out_channels, int64_t temb_channels,
              bool cross_attention, bool add_downsample, const UNet3DConfig& config);
  // Returns the output followed by the skip states (one per layer, plus the downsampled output);
  // element 0 is the block's output (the last skip state when there is a downsampler).
  std::vector<Tensor> forward(const Tensor& x, const Tensor& temb_act, const Tensor& context,
                              int64_t num_frames) const;
  // Skip states handed to the up path: layers + 1 with a downsampler.
  size_t num_states() const { return num_layers() + (downsamplers ? 1 : 0); }

  std::shared_ptr<nn::ModuleList> downsamplers;  // [Downsample2D] or null
};

// diffusers' UNetMidBlock3DCrossAttn: resnet, temp_conv, then (attn, temp_attn, resnet,
// temp_conv) once.
class UNetMidBlock3DCrossAttn : public UNet3DBlockBase {
 public:
  UNetMidBlock3DCrossAttn(int64_t channels, int64_t temb_channels, const UNet3DConfig& config);
  Tensor forward(const Tensor& x, const Tensor& temb_act, const Tensor& context,
                 int64_t num_frames) const;
};

// diffusers' UpBlock3D / CrossAttnUpBlock3D: each layer first concatenates (along channels) the
// next skip state from the end of `skips`.
class UpBlock3D : public UNet3DBlockBase {
 public:
  UpBlock3D(int64_t in_channels, int64_t prev_output_channels, int64_t out_channels,
            int64_t temb_channels, bool cross_attention, bool add_upsample,
            const UNet3DConfig& config);
  // skips: num_layers() states in the order the down path produced them (used last first).
  Tensor forward(const Tensor& x, const std::vector<Tensor>& skips, const Tensor& temb_act,
                 const Tensor& context, int64_t num_frames) const;

  std::shared_ptr<nn::ModuleList> upsamplers;  // [Upsample2D] or null
};

}  // namespace trip
