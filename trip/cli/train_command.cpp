// `trip train --config tiny|modelscope|FILE.json --data D.h5 --out RUN_DIR [--steps N]
// [--resume]`: trains TRIP on a clip dataset (TRIP.md section 5). Progress on the terminal,
// metrics.jsonl and loss.png in the run folder, atomic checkpoints every K steps (newest k
// kept); --resume continues bit for bit; Ctrl-C saves a checkpoint and exits cleanly.
#include <fmt/core.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <fstream>
#include <optional>
#include <sstream>

#include "data/atomic_file.h"
#include "data/loader.h"
#include "nn/io/checkpoint.h"
#include "tensor/error.h"
#include "trip/cli/commands.h"
#include "trip/cli/loss_plot.h"
#include "trip/cli/progress.h"
#include "trip/cli/run_folder.h"
#include "trip/cli/train_run.h"  // TrainArgs, run_training (shared with `trip ablate`)
#include "trip/trainer.h"

namespace trip::cli {

namespace {

std::atomic<bool> interrupted{false};

// Ctrl-C (SIGINT) and SIGTERM (`kill`, `timeout`, batch schedulers, `docker stop`) both save a
// checkpoint and exit; a second signal of either kind stops at once.
extern "C" void on_interrupt(int) {
  interrupted = true;
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

// Installs on_interrupt for SIGINT and SIGTERM; the destructor puts the previous handlers back.
class InterruptHandlers {
 public:
  InterruptHandlers()
      : previous_int_(std::signal(SIGINT, on_interrupt)),
        previous_term_(std::signal(SIGTERM, on_interrupt)) {}
  ~InterruptHandlers() {
    std::signal(SIGINT, previous_int_);
    std::signal(SIGTERM, previous_term_);
  }
  InterruptHandlers(const InterruptHandlers&) = delete;
  InterruptHandlers& operator=(const InterruptHandlers&) = delete;

 private:
  void (*previous_int_)(int);
  void (*previous_term_)(int);
};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  TRIP_CHECK(in.good(), "cannot read the config file '{}'", path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TrainConfig config_from_argument(const std::string& value) {
  if (value == "tiny" || value == "modelscope") return TrainConfig::from_preset(value);
  try {
    return TrainConfig::from_json(read_text(value));
  } catch (const Error& e) {
    fail("{}: {}", value, e.what());
  }
}

void write_text(const std::string& path, const std::string& text) {
  data::write_file_atomically(
      path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

void save(Trainer& trainer, RunFolder& run, const data::Loader& loader) {
  const std::string path = run.checkpoint_path(trainer.step());
  const nlohmann::json extra = {{"loader", loader.position().to_json()}};
  trainer.save(path, extra.dump());
  run.prune_checkpoints(trainer.config().keep_checkpoints);
  save_loss_plot(run.losses(), run.path("loss.png"));
}

}  // namespace

void run_training(const TrainArgs& args) {
  RunFolder run(args.out);
  const std::optional<std::string> latest = run.latest_checkpoint();
  TRIP_CHECK(!latest || args.resume,
             "'{}' already holds checkpoints (newest: {}): pass --resume to continue that run, or "
             "choose another --out",
             args.out, *latest);
  TRIP_CHECK(latest || !args.resume, "--resume: no checkpoint (ckpt-*.h5) in '{}'", args.out);

  auto dataset = std::make_shared<const data::ClipDataset>(args.data);
  TrainConfig config;
  std::optional<WordTokenizer> tokenizer;
  if (args.resume) {  // the run's own config and vocabulary; only --steps may change
    const nn::TrainingState state = nn::load_checkpoint(*latest);
    const auto saved = nlohmann::json::parse(state.config_json);
    TRIP_CHECK(saved.contains("train") && saved.contains("tokenizer"),
               "{}: not a checkpoint of `trip train`", *latest);
    config = TrainConfig::from_json(saved["train"].dump());
    tokenizer = WordTokenizer::from_json(saved["tokenizer"].dump());
  } else {
    config = config_from_argument(args.config);
    if (args.batch > 0) config.batch = args.batch;
  }
  if (args.steps > 0) config.steps = args.steps;
  config.validate();

  data::LoaderOptions loader_options;
  loader_options.batch_size = config.batch;
  loader_options.clip.frames = config.model.frames;
  loader_options.clip.size = config.model.size;
  loader_options.clip.fps = config.fps;
  loader_options.seed = config.seed;
  loader_options.threads = args.loader_threads;
  loader_options.split = data::Split::train;
  loader_options.eval_every = config.eval_every;
  if (!tokenizer) {
    std::vector<std::string> captions;
    for (int64_t i : data::split_videos(dataset->size(), data::Split::train, config.eval_every)) {
      captions.push_back(dataset->info(i).caption);
    }
    TRIP_CHECK(!captions.empty(),
               "'{}': no training videos (dataset of {} videos, every {}th "
               "held out)",
               args.data, dataset->size(), config.eval_every);
    tokenizer = WordTokenizer::build(captions, config.vocab_max);
  }

  Trainer trainer(config, *tokenizer);
  std::optional<data::LoaderPosition> start;
  if (args.resume) {
    const auto extra = nlohmann::json::parse(trainer.resume(*latest));
    TRIP_CHECK(extra.contains("loader"), "{}: the checkpoint has no loader position", *latest);
    start = data::LoaderPosition::from_json(extra["loader"]);
    run.truncate_metrics_after(trainer.step());
    fmt::print("resuming {} at step {}\n", *latest, trainer.step());
  }
  write_text(run.path("config.json"), config.to_json() + "\n");
  data::Loader loader(dataset, loader_options, start);
  fmt::print(
      "training {} ({} parameters, conditioning {}, fusion {}, prediction {}) on {} clips of "
      "'{}' for {} steps, batch {}; run folder {}\n",
      config.model.preset, trainer.model().num_parameters(),
      conditioning_name(config.model.conditioning), fusion_name(config.model.fusion),
      prediction_name(config.model.prediction), loader.videos().size(), args.data, config.steps,
      config.batch, args.out);
  if (trainer.step() >= config.steps) {
    fmt::print("nothing to do: the run is at step {} of {}\n", trainer.step(), config.steps);
    return;
  }

  interrupted = false;
  const InterruptHandlers handlers;  // until run_training returns or throws
  Progress progress("train", config.steps, config.log_every, trainer.step());
  double loss_sum = 0, norm_sum = 0;
  int64_t counted = 0;
  try {
    while (trainer.step() < config.steps && !interrupted) {
      std::optional<data::Batch> batch = loader.next();
      TRIP_CHECK(batch.has_value(), "the loader ran out of batches");
      const StepStats stats = trainer.train_step(batch->clips, batch->captions);
      if (!stats.skipped) {
        loss_sum += stats.loss;
        norm_sum += stats.grad_norm;
        ++counted;
      }
      const int64_t step = trainer.step();
      if (step % config.log_every == 0 || step == config.steps) {
        run.append_metrics({{"step", step},
                            {"loss", counted ? loss_sum / double(counted) : NAN},
                            {"grad_norm", counted ? norm_sum / double(counted) : NAN},
                            {"unet_lr", stats.unet_lr},
                            {"tnf_lr", stats.tnf_lr},
                            {"it_s", progress.rate()},
                            {"skipped_total", trainer.skipped_steps()},
                            {"epoch", batch->epoch}});
        loss_sum = norm_sum = 0;
        counted = 0;
      }
      progress.update(step, std::isfinite(stats.loss) ? fmt::format("loss {:.4f}", stats.loss)
                                                      : "loss non-finite (step skipped)");
      if (step % config.checkpoint_every == 0 || step == config.steps) save(trainer, run, loader);
    }
  } catch (const Error& e) {
    const auto newest = run.latest_checkpoint();
    fail("{}\nthe last good checkpoint is {}", e.what(), newest ? *newest : "(none yet)");
  }
  if (interrupted) {
    save(trainer, run, loader);
    progress.finish(fmt::format("interrupted: saved {}; continue with --resume",
                                run.checkpoint_path(trainer.step())));
    return;
  }
  progress.finish(fmt::format("done: {} steps; checkpoint {}, metrics {}, loss curve {}",
                              trainer.step(), run.checkpoint_path(trainer.step()),
                              run.path("metrics.jsonl"), run.path("loss.png")));
}

void add_train_command(CLI::App& app) {
  CLI::App* cmd =
      app.add_subcommand("train", "Train TRIP on a clip dataset (HDF5, see `trip data`)");
  auto args = std::make_shared<TrainArgs>();
  cmd->add_option("--config", args->config,
                  "preset (tiny, modelscope) or a JSON file of TrainConfig keys (trip/README.md)")
      ->capture_default_str();
  cmd->add_option("--data", args->data, "clip dataset (.h5)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", args->out,
                  "run folder: checkpoints, config.json, metrics.jsonl, loss.png")
      ->required();
  cmd->add_option("--steps", args->steps, "total optimizer steps (overrides the config)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--batch", args->batch, "clips per step (overrides the config)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--resume", args->resume, "continue the run in --out from its newest checkpoint");
  cmd->add_option("--loader-threads", args->loader_threads, "background threads building batches")
      ->capture_default_str()
      ->check(CLI::Range(0, 64));
  cmd->callback([args] { run_training(*args); });
}

}  // namespace trip::cli
