// `trip eval --ckpt C --data D.h5 [--clips K] [--steps 50] [--seed s] [--json OUT.json]
// [--out DIR]`: animates the first frames of held-out clips (the run's eval split, centre crops)
// with their captions and compares the videos with the real clips: first-frame PSNR,
// F-Consistency_4/_all and Frechet distance in our own feature space, and motion
// (trip/eval_metrics.h; trip/README.md, "Evaluation").
#include <fmt/core.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <span>

#include "autograd/grad_mode.h"
#include "data/atomic_file.h"
#include "data/export.h"
#include "data/loader.h"
#include "diffusion/timesteps.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "trip/cli/commands.h"
#include "trip/cli/evaluate.h"
#include "trip/cli/progress.h"
#include "trip/model_file.h"
#include "trip/train_config.h"

namespace trip::cli {

namespace {

std::string number(double v, int decimals) {
  return std::isfinite(v) ? fmt::format("{:.{}f}", v, decimals) : std::string("n/a");
}

void write_json(const std::string& path, const nlohmann::json& j) {
  const std::string text = j.dump(2) + "\n";
  data::write_file_atomically(
      path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

// Sample GIFs (the first few clips, generated and real) and one PNG grid: rows alternate real,
// generated.
void write_samples(const std::string& dir, const Tensor& generated, const Tensor& real,
                   double fps) {
  std::filesystem::create_directories(dir);
  const int64_t n = std::min<int64_t>(generated.size(0), 8);
  std::vector<data::Video> rows;
  for (int64_t i = 0; i < n; ++i) {
    data::Video g = data::from_tensor(ops::select(generated, 0, i), fps);
    data::Video r = data::from_tensor(ops::select(real, 0, i), fps);
    data::save_video(g, fmt::format("{}/clip-{:02d}-generated.gif", dir, i));
    data::save_video(r, fmt::format("{}/clip-{:02d}-real.gif", dir, i));
    rows.push_back(std::move(r));
    rows.push_back(std::move(g));
  }
  data::save_grid(rows, dir + "/grid.png", 4);
  fmt::print("wrote {} clip GIFs and {}/grid.png (rows: real, generated)\n", 2 * n, dir);
}

void eval_command(const EvalArgs& a) {
  if (!a.out.empty()) data::require_ffmpeg("trip eval --out");
  const EvalResult result = evaluate_checkpoint(a);
  if (!a.json.empty()) {
    write_json(a.json, result.to_json());
    fmt::print("wrote {}\n", a.json);
  }
}

}  // namespace

nlohmann::json EvalResult::to_json() const {
  nlohmann::json kinds = nlohmann::json::object();
  for (const auto& [kind, m] : by_kind) kinds[kind] = nlohmann::json::parse(m.to_json());
  return {{"settings", settings},
          {"metrics", nlohmann::json::parse(metrics.to_json())},
          {"by_kind", kinds}};
}

std::string kind_table(const std::vector<std::pair<std::string, eval::ClipMetrics>>& by_kind) {
  std::string s = fmt::format("{:<10} {:>5} {:>10} {:>12} {:>16}\n", "kind", "clips", "PSNR 1st",
                              "motion ratio", "motion tracking");
  for (const auto& [kind, m] : by_kind) {
    s += fmt::format("{:<10} {:>5} {:>10} {:>12} {:>16}\n", kind, m.clips, number(m.psnr_first, 2),
                     number(m.motion_ratio, 3), number(m.motion_tracking, 3));
  }
  return s;
}

namespace {

// "move" for "synthetic:move:0:12", "other" for anything not synthesised.
std::string kind_of(const std::string& origin) {
  constexpr std::string_view prefix = "synthetic:";
  if (!origin.starts_with(prefix)) return "other";
  const std::string rest = origin.substr(prefix.size());
  return rest.substr(0, rest.find(':'));
}

std::vector<std::pair<std::string, eval::ClipMetrics>> metrics_by_kind(
    const Tensor& generated, const Tensor& real, const std::vector<std::string>& kinds) {
  std::map<std::string, std::vector<int64_t>> rows;
  for (size_t i = 0; i < kinds.size(); ++i) rows[kinds[i]].push_back(int64_t(i));
  std::vector<std::pair<std::string, eval::ClipMetrics>> out;
  for (const auto& [kind, index] : rows) {
    const Tensor picked = from_vector(index, {int64_t(index.size())}, DType::i64);
    out.emplace_back(kind, eval::evaluate_clips(ops::index_select(generated, 0, picked),
                                                ops::index_select(real, 0, picked)));
  }
  return out;
}

}  // namespace

std::string eval_table(const eval::ClipMetrics& m) {
  std::string s = fmt::format("{:<36} {:>10} {:>10}\n", "metric", "generated", "real");
  s += fmt::format("{:<36} {:>10} {:>10}\n", "first-frame PSNR (dB)", number(m.psnr_first, 2), "-");
  s += fmt::format("{:<36} {:>10} {:>10}\n", "F-Consistency_4 (ours, x100)",
                   number(m.f_consistency_4, 2), number(m.real_f_consistency_4, 2));
  s += fmt::format("{:<36} {:>10} {:>10}\n", "F-Consistency_all (ours, x100)",
                   number(m.f_consistency_all, 2), number(m.real_f_consistency_all, 2));
  s += fmt::format("{:<36} {:>10} {:>10}\n", "motion (mean |frame change|)",
                   number(m.motion_generated, 4), number(m.motion_real, 4));
  s += fmt::format("{:<36} {:>10} {:>10}\n", "motion ratio (generated / real)",
                   number(m.motion_ratio, 3), "-");
  s += fmt::format("{:<36} {:>10} {:>10}\n", "motion tracking (0 frozen, 1 real)",
                   number(m.motion_tracking, 3), "1");
  s += fmt::format("{:<36} {:>10} {:>10}\n", "FD vs real (ours, stands in for FVD)",
                   number(m.fd, 4), "-");
  return s;
}

EvalResult evaluate_checkpoint(const EvalArgs& a) {
  NoGradGuard no_grad;  // caption encoding too (sample() guards only itself)
  LoadedModel loaded = load_model_file(a.ckpt);
  TripModel& model = *loaded.model;
  const bool ema = !a.no_ema && !loaded.state.ema.empty();
  if (ema) model.load_state_dict(loaded.state.ema, /*strict=*/true);
  const TripConfig& config = model.config();
  TRIP_CHECK(config.channels == 3,
             "{}: this model works on {}-channel latents (not implemented: evaluation with a "
             "VAE)",
             a.ckpt, config.channels);
  TRIP_CHECK(config.internal_caption_encoder && loaded.tokenizer.has_value(),
             "{}: the model takes external text features (not implemented: text encoders in "
             "`trip eval`)",
             a.ckpt);

  // The held-out rule and frame rate of the run that wrote the checkpoint.
  TrainConfig train;
  const auto saved = nlohmann::json::parse(loaded.state.config_json);
  if (saved.contains("train")) {
    train = TrainConfig::from_json(saved["train"].dump());
  } else {
    fmt::print("note: {} holds no training configuration: eval split every {}th video, {} fps\n",
               a.ckpt, train.eval_every, train.fps);
  }
  data::LoaderOptions options;
  options.batch_size = std::max<int64_t>(1, std::min(a.batch, a.clips));
  options.clip.frames = config.frames;
  options.clip.size = config.size;
  options.clip.fps = train.fps;
  options.seed = train.seed;
  options.threads = 0;
  options.eval_every = train.eval_every;
  options = data::eval_options(options);
  data::Loader loader(a.data, options);
  const int64_t available = int64_t(loader.videos().size());
  TRIP_CHECK(available > 0,
             "{}: no held-out videos to evaluate on (the run's eval_every is {}; {} videos in the "
             "dataset)",
             a.data, train.eval_every, data::ClipDataset(a.data).size());
  const int64_t clips = std::min(a.clips, available);
  if (clips < a.clips) {
    fmt::print("note: the eval split of {} has {} videos; evaluating {} clips, not {}\n", a.data,
               available, clips, a.clips);
  }

  Progress progress("eval", clips * a.steps, std::max<int64_t>(1, a.steps));
  std::vector<Tensor> generated, real;
  std::vector<std::string> kinds;
  const data::ClipDataset dataset(a.data);
  int64_t done = 0;
  while (done < clips) {
    std::optional<data::Batch> batch = loader.next();
    TRIP_CHECK(batch.has_value(), "the eval loader ran out of clips after {}", done);
    const int64_t take = std::min(clips - done, batch->clips.size(0));
    const Tensor clip = ops::contiguous(ops::slice(batch->clips, 0, 0, take));
    std::vector<std::string> captions(batch->captions.begin(), batch->captions.begin() + take);
    const Tensor context =
        model.encode_captions(loaded.tokenizer->encode_batch(captions, config.context_length).ids);
    SampleOptions sample;
    sample.steps = a.steps;
    sample.guidance = a.guidance;
    sample.spacing = diffusion::timestep_spacing_from_name(a.spacing);
    sample.seed = a.seed + uint64_t(done);  // one noise stream per batch, fixed by --seed
    sample.progress = [&](int step, int) { progress.update(done * a.steps + step); };
    generated.push_back(model.sample(ops::contiguous(ops::select(clip, 2, 0)), context, sample));
    real.push_back(clip);
    for (int64_t i = 0; i < take; ++i)
      kinds.push_back(kind_of(dataset.info(batch->videos[size_t(i)]).origin));
    done += take;
  }
  progress.finish();
  const Tensor gen_all = ops::cat(generated, 0), real_all = ops::cat(real, 0);

  EvalResult result;
  result.metrics = eval::evaluate_clips(gen_all, real_all);
  result.by_kind = metrics_by_kind(gen_all, real_all, kinds);
  result.settings = {{"checkpoint", a.ckpt}, {"data", a.data},
                     {"clips", clips},       {"requested_clips", a.clips},
                     {"steps", a.steps},     {"guidance", a.guidance},
                     {"spacing", a.spacing}, {"seed", std::to_string(a.seed)},
                     {"ema", ema},           {"eval_every", train.eval_every},
                     {"fps", train.fps},     {"frames", config.frames},
                     {"size", config.size}};
  if (!a.quiet) {
    fmt::print("{} on {} held-out clips of '{}' ({} DDIM steps, {} weights):\n{}", a.ckpt, clips,
               a.data, a.steps, ema ? "EMA" : "training", eval_table(result.metrics));
    fmt::print("by kind of clip:\n{}", kind_table(result.by_kind));
  }
  if (!a.out.empty()) write_samples(a.out, gen_all, real_all, train.fps);
  return result;
}

void add_eval_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "eval", "Evaluate a checkpoint on held-out clips (PSNR, consistency, motion, FD)");
  auto a = std::make_shared<EvalArgs>();
  cmd->add_option("--ckpt", a->ckpt, "checkpoint of `trip train` (.h5)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--data", a->data, "clip dataset (.h5); its eval split is used")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--clips", a->clips, "held-out clips to animate (at most the split's size)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(100000)));
  add_ddim_options(cmd, a->steps, a->guidance, a->spacing, a->seed);
  cmd->add_option("--batch", a->batch, "clips sampled together")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--json", a->json, "write settings and metrics to this JSON file");
  cmd->add_option("--out", a->out, "folder for sample GIFs and a grid PNG (real, generated)");
  cmd->add_flag("--no-ema", a->no_ema, "use the training weights instead of the EMA weights");
  cmd->callback([a] { eval_command(*a); });
}

}  // namespace trip::cli
