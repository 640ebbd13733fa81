// Lesson 7: UNet3D anatomy — the tiny TRIP UNet block by block, and where the frames go.
//
// TRIP's residual path is a 3D UNet (TRIP.md section 3): diffusers' UNet3DConditionModel
// (ModelScope T2V), here in the `tiny` preset: 3 pixel channels, blocks of (32, 64, 64) channels,
// one layer per block. A video [B, C, F, H, W] goes down through the blocks (halving H and W
// twice), through the middle block, and up again, each up block concatenating the skip states of
// the down path. The trick that makes an image UNet a video UNet is in the layout: every 2D part
// (ResNet blocks, the spatial transformer, the resamplers) sees the F frames folded into the batch,
// [B * F, C, H, W], so it treats each frame as an independent image; only the temporal parts
// (TemporalConvLayer, a 3x1x1 convolution, and TransformerTemporalModel) unfold them and mix
// information across frames. Spatial attention has B * F sequences of H * W tokens (the pixels of
// one frame); temporal attention has B * H * W sequences of F tokens (one pixel through time).
//
// What to look at: the module tree with parameter counts (the full tree goes to a text file), the
// output shape after each stage of the forward pass (the walk-through equals model.forward
// exactly), the token shapes of the two attentions, and the experiment at the end: change one
// frame of the input, and a spatial transformer changes only that frame of its output while a
// temporal transformer changes every frame. The total must be 2,851,907 parameters, diffusers'
// count for this config (tests/unet3d_test.cpp checks the same); the program fails otherwise.
// Run: build/examples/07_unet3d_anatomy [--quick] [--out DIR] [--seed N]
#include <fmt/core.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "examples/lesson.h"
#include "trip/unet3d.h"

using namespace trip;

// The module tree down to `max_depth`, one line per module: name, type, parameter count.
static void print_tree(const nn::Module& m, const std::string& name, int depth, int max_depth) {
  fmt::print("{:<{}}{:<44} {:>9}\n", "", 2 * depth,
             name.empty() ? m.type_name() : name + ": " + m.type_name(), m.num_parameters());
  if (depth < max_depth)
    for (const auto& [child_name, child] : m.named_children())
      print_tree(*child, child_name, depth + 1, max_depth);
}

// One stage of the forward pass: its name, its parameters (-1: none to show) and output shape.
static void stage(const std::string& name, int64_t params, const Tensor& out) {
  fmt::print("  {:<48} {:>9}  -> {}\n", name, params < 0 ? "" : fmt::format("{}", params),
             fmt::format("{}", out.shape()));
}

int main(int argc, char** argv) {
  const LessonArgs args = parse_lesson_args(argc, argv);
  manual_seed(args.seed);
  const UNet3DConfig config = UNet3DConfig::tiny();
  UNet3D model(config);
  model.eval();  // no dropout (TemporalConvLayer has 0.1), so the walk-through is deterministic
  NoGradGuard no_grad;

  fmt::print("{}\n\nmodule tree (depth 2; parameters per module):\n", config.to_string());
  print_tree(model, "", 0, 2);
  std::ofstream(output_file(args, "07_unet3d_tree.txt")) << model.to_string();

  // One clip (B = 1) of F frames; the timestep and a caption embedding of L = 4 tokens.
  const int64_t b = 1, f = args.quick ? 4 : 8, h = 32, w = 32, c_in = config.in_channels;
  const Tensor sample = randn({b, c_in, f, h, w});
  const Tensor timestep = full({b}, 500.0, DType::i64);
  const Tensor context = randn({b, 4, config.cross_attention_dim});

  // The forward pass of UNet3D::forward, stage by stage.
  fmt::print("\nforward pass, sample {} (B, C, F, H, W):\n", sample.shape());
  Tensor emb = model.time_embedding->forward(model.time_proj->forward(timestep));
  stage("time_proj + time_embedding", model.time_embedding->num_parameters(), emb);
  const int64_t temb_dim = emb.size(1);
  // Per-clip conditioning repeated per frame: the 2D blocks see B * F "images".
  Tensor temb_act = reshape(expand(unsqueeze(silu(emb), 1), {b, f, temb_dim}), {b * f, temb_dim});
  Tensor ctx = reshape(expand(unsqueeze(context, 1), {b, f, context.size(1), context.size(2)}),
                       {b * f, context.size(1), context.size(2)});
  Tensor x = reshape(permute(sample, {0, 2, 1, 3, 4}), {b * f, c_in, h, w});
  stage("fold frames into the batch", -1, x);
  x = model.conv_in->forward(x);
  stage("conv_in", model.conv_in->num_parameters(), x);
  x = model.transformer_in->forward(x, f);
  stage("transformer_in (temporal)", model.transformer_in->num_parameters(), x);
  std::vector<Tensor> skips{x};
  for (size_t i = 0; i < model.down_blocks->size(); ++i) {
    auto block = model.down_blocks->at<DownBlock3D>(i);
    std::vector<Tensor> out = block->forward(x, temb_act, ctx, f);
    x = out[0];
    skips.insert(skips.end(), out.begin() + 1, out.end());
    stage(fmt::format("down_blocks.{} {} (+{} skips)", i, block->type_name(), out.size() - 1),
          block->num_parameters(), x);
  }
  x = model.mid_block->forward(x, temb_act, ctx, f);
  stage("mid_block", model.mid_block->num_parameters(), x);
  for (size_t i = 0; i < model.up_blocks->size(); ++i) {
    auto block = model.up_blocks->at<UpBlock3D>(i);
    // Each up block takes as many skip states as it has layers, the last ones first.
    std::vector<Tensor> res(skips.end() - long(block->num_layers()), skips.end());
    skips.resize(skips.size() - block->num_layers());
    x = block->forward(x, res, temb_act, ctx, f);
    stage(fmt::format("up_blocks.{} {}", i, block->type_name()), block->num_parameters(), x);
  }
  x = model.conv_out->forward(model.conv_norm_out->forward(x, /*silu=*/true));
  stage("conv_norm_out + SiLU + conv_out",
        model.conv_norm_out->num_parameters() + model.conv_out->num_parameters(), x);
  x = permute(view(x, {b, f, config.out_channels, h, w}), {0, 2, 1, 3, 4});
  stage("unfold frames", -1, x);
  const double walk_error = amax(abs(x - model.forward(sample, timestep, context))).item();
  fmt::print("max |walk-through - model.forward| = {:.1e}\n", walk_error);

  // Spatial vs temporal attention in down_blocks.1 (64 channels at 16 x 16).
  auto down1 = model.down_blocks->at<DownBlock3D>(1);
  auto spatial = down1->attentions->at<Transformer2DModel>(0);
  auto temporal = down1->temp_attentions->at<TransformerTemporalModel>(0);
  const int64_t c = spatial->in_channels, hs = 16, ws = 16;
  const Tensor feat = randn({b * f, c, hs, ws});
  const int64_t heads = c / config.attention_head_dim;
  fmt::print("\nattention in down_blocks.1, features {} = [B*F, C, H, W]:\n", feat.shape());
  fmt::print("  spatial  tokens [B*F, H*W, C] = {}: {} x {} heads of {}x{} attention\n",
             reshape(permute(feat, {0, 2, 3, 1}), {b * f, hs * ws, c}).shape(), b * f, heads,
             hs * ws, hs * ws);
  fmt::print(
      "  temporal tokens [B*H*W, F, C] = {}: {} x {} heads of {}x{} attention\n",
      reshape(permute(view(feat, {b, f, c, hs, ws}), {0, 3, 4, 1, 2}), {b * hs * ws, f, c}).shape(),
      b * hs * ws, heads, f, f);

  // Change one frame of the input: which output frames move? (Temporal mixes frames twice: its
  // attention, and its GroupNorm, whose statistics span all frames.)
  const int64_t changed = 1;
  Tensor feat2 = clone(feat);
  ops::add_(select(feat2, 0, changed), randn({c, hs, ws}));
  fmt::print("change input frame {} (of 0..{}); largest change of each output frame:\n", changed,
             f - 1);
  // Prints the change per frame; true when exactly the expected frames moved.
  auto report = [&](const char* label, const Tensor& before, const Tensor& after, bool all_frames) {
    bool as_expected = true;
    fmt::print("  {:<36}:", label);
    for (int64_t i = 0; i < f; ++i) {
      const double d = amax(abs(select(before, 0, i) - select(after, 0, i))).item();
      fmt::print(" {:.1e}", d);
      as_expected = as_expected && (d > 0) == (all_frames || i == changed);
    }
    fmt::print("\n");
    return as_expected;
  };
  bool mixing_ok = report("spatial (Transformer2DModel)", spatial->forward(feat, ctx),
                          spatial->forward(feat2, ctx), false);
  mixing_ok = report("temporal (TransformerTemporalModel)", temporal->forward(feat, f),
                     temporal->forward(feat2, f), true) &&
              mixing_ok;

  const int64_t expected = 2851907;  // diffusers' UNet3DConditionModel with this config
  const int64_t total = model.num_parameters();
  fmt::print("\nparameters: {} (diffusers: {})\n", total, expected);
  const bool ok = total == expected && walk_error < 1e-5 && mixing_ok;
  fmt::print("{}\n", ok ? "ok" : "FAILED: parameter count, walk-through or frame mixing differs");
  return ok ? 0 : 1;
}
