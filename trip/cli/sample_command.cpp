// `trip sample --ckpt C --image first.png [--caption "..."] [--steps 50] [--eta 0] [--guidance g]
// [--seed s] [--num n] --out video.gif`: animates an image with a trained TRIP (TRIP.md section 6)
// and writes the video(s) and a PNG strip (grid for several samples) beside them.
#include <fmt/core.h>

#include <filesystem>

#include "data/clip_sampler.h"
#include "data/export.h"
#include "data/image.h"
#include "diffusion/timesteps.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "trip/cli/commands.h"
#include "trip/cli/progress.h"
#include "trip/model_file.h"

namespace trip::cli {

namespace {

struct SampleArgs {
  std::string ckpt, image, caption, out;
  int64_t steps = 50, num = 1;
  double eta = 0, guidance = 1.0, fps = 4.0;
  std::string spacing = "leading";
  uint64_t seed = 0;
  bool no_ema = false;
};

// The image as the model's first frame [3, S, S] in [-1, 1]: centre square crop, then resized.
Tensor first_frame_of(const std::string& path, int64_t size) {
  const data::Image image = data::load_image(path);
  TRIP_CHECK(image.width >= 8 && image.height >= 8,
             "{}: the image is {}x{}; at least 8x8 pixels are needed", path, image.width,
             image.height);
  const int64_t side = std::min(image.width, image.height);
  if (image.width != size || image.height != size) {
    fmt::print("note: {} is {}x{}: centre-cropped to {}x{} and resized to the model's {}x{}\n",
               path, image.width, image.height, side, side, size, size);
  }
  const Tensor clip = data::resize_crop(data::image_video(image), (image.height - side) / 2,
                                        (image.width - side) / 2, side, size);
  return ops::select(clip, 1, 0);
}

std::string with_suffix(const std::string& path, const std::string& suffix,
                        const std::string& extension) {
  const std::filesystem::path p(path);
  return (p.parent_path() / (p.stem().string() + suffix + extension)).string();
}

void sample(const SampleArgs& a) {
  const std::string extension = std::filesystem::path(a.out).extension().string();
  TRIP_CHECK(extension == ".gif" || extension == ".mp4", "--out must end in .gif or .mp4, got '{}'",
             a.out);
  data::require_ffmpeg("trip sample");
  const std::filesystem::path folder = std::filesystem::path(a.out).parent_path();
  if (!folder.empty()) std::filesystem::create_directories(folder);
  LoadedModel loaded = load_model_file(a.ckpt);
  TripModel& model = *loaded.model;
  if (!a.no_ema && !loaded.state.ema.empty()) {
    model.load_state_dict(loaded.state.ema, /*strict=*/true);  // smoothed weights sample better
  }
  const TripConfig& config = model.config();
  TRIP_CHECK(config.channels == 3,
             "{}: this model works on {}-channel latents; sampling from an image needs a VAE "
             "(not implemented: latent-space sampling in `trip sample`)",
             a.ckpt, config.channels);
  const Tensor first = first_frame_of(a.image, config.size);
  const Tensor firsts =
      ops::contiguous(ops::expand(ops::unsqueeze(first, 0), {a.num, 3, config.size, config.size}));

  Tensor context;
  if (config.internal_caption_encoder) {
    TRIP_CHECK(loaded.tokenizer.has_value(), "{}: the checkpoint has no caption vocabulary",
               a.ckpt);
    std::vector<std::string> unknown;
    for (const std::string& word : WordTokenizer::split_words(a.caption)) {
      if (loaded.tokenizer->id_of(word) == WordTokenizer::kUnk) unknown.push_back(word);
    }
    if (!unknown.empty()) {
      fmt::print("note: {} caption word(s) unknown to the model: {}\n", unknown.size(),
                 fmt::join(unknown, ", "));
    }
    const std::vector<std::string> captions(static_cast<size_t>(a.num), a.caption);
    context =
        model.encode_captions(loaded.tokenizer->encode_batch(captions, config.context_length).ids);
  } else {
    fail(
        "{}: this model takes external text features (not implemented: text encoders in `trip "
        "sample`)",
        a.ckpt);
  }
  Progress progress("sample", a.steps, std::max<int64_t>(1, a.steps / 5));
  SampleOptions options;
  options.steps = a.steps;
  options.eta = a.eta;
  options.guidance = a.guidance;
  options.spacing = diffusion::timestep_spacing_from_name(a.spacing);
  options.seed = a.seed;
  options.progress = [&](int step, int) { progress.update(step); };
  const Tensor videos = model.sample(firsts, context, options);  // [n, 3, N, S, S]
  progress.finish();

  std::vector<data::Video> outputs;
  for (int64_t i = 0; i < a.num; ++i) {
    data::Video video = data::from_tensor(ops::select(videos, 0, i), a.fps);
    const std::string path =
        a.num == 1 ? a.out : with_suffix(a.out, fmt::format("-{}", i), extension);
    data::save_video(video, path);
    fmt::print("wrote {}\n", path);
    outputs.push_back(std::move(video));
  }
  const std::string strip = with_suffix(a.out, "", ".png");
  if (a.num == 1) {
    data::save_strip(outputs[0], strip, 4);
  } else {
    data::save_grid(outputs, strip, 4);
  }
  fmt::print("wrote {}\n", strip);
}

}  // namespace

void add_sample_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("sample", "Animate an image with a trained TRIP model");
  auto a = std::make_shared<SampleArgs>();
  cmd->add_option("--ckpt", a->ckpt, "checkpoint of `trip train` (.h5)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--image", a->image, "the first frame (PNG, JPEG, ...)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--caption", a->caption, "what should move and how (empty: unconditional)");
  cmd->add_option("--out", a->out, "video to write (.gif or .mp4); a .png strip goes beside it")
      ->required();
  add_ddim_options(cmd, a->steps, a->guidance, a->spacing, a->seed);
  cmd->add_option("--eta", a->eta, "DDIM eta (0: deterministic)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--num", a->num, "videos to make from the image (different noise)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--fps", a->fps, "frame rate of the written video")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--no-ema", a->no_ema, "use the training weights instead of the EMA weights");
  cmd->callback([a] { sample(*a); });
}

}  // namespace trip::cli
