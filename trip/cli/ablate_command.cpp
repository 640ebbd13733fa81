// `trip ablate --data D.h5 --out DIR [--steps N] [--clips K] [--config tiny|FILE]`: the paper's
// ablations (Tables 5 and 6) on our data: trains TRIP, TRIP^- (no shortcut), TRIP^W (linear
// fusion), TRIP_C (channel conditioning) and TRIP_TE (image at the end) with the same config,
// data, seed and budget, each as a normal run folder DIR/<variant>/ (the code of `trip train`),
// evaluates each (the code of `trip eval`) and writes one table: DIR/ablation.{json,md}.
// Resumable: a finished variant is not retrained, a stored evaluation with the same settings is
// reused, an interrupted run continues from its newest checkpoint.
#include <fmt/core.h>

#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>

#include "data/atomic_file.h"
#include "tensor/error.h"
#include "trip/cli/commands.h"
#include "trip/cli/evaluate.h"
#include "trip/cli/run_folder.h"
#include "trip/cli/train_run.h"
#include "trip/train_config.h"

namespace trip::cli {

namespace {

struct AblateArgs {
  std::string config = "tiny", data, out;
  int64_t steps = 0, clips = 16, sample_steps = 50;
  uint64_t seed = 0;
  int loader_threads = 2;
};

struct Variant {
  const char* name;    // as in the paper's tables
  const char* folder;  // DIR/<folder>
  Conditioning conditioning;
  Fusion fusion;
};

constexpr Variant kVariants[] = {
    {"TRIP", "trip", Conditioning::temporal_start, Fusion::tnf},
    {"TRIP^-", "trip_minus", Conditioning::temporal_start, Fusion::none},
    {"TRIP^W", "trip_w", Conditioning::temporal_start, Fusion::linear},
    {"TRIP_C", "trip_c", Conditioning::channel, Fusion::tnf},
    {"TRIP_TE", "trip_te", Conditioning::temporal_end, Fusion::tnf},
};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  TRIP_CHECK(in.good(), "cannot read '{}'", path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const std::string& path, const std::string& text) {
  data::write_file_atomically(
      path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

TrainConfig base_config(const std::string& value) {
  if (value == "tiny" || value == "modelscope") return TrainConfig::from_preset(value);
  try {
    return TrainConfig::from_json(read_text(value));
  } catch (const Error& e) {
    fail("{}: {}", value, e.what());
  }
}

std::string cell(const nlohmann::json& v, int decimals) {
  return v.is_number() ? fmt::format("{:.{}f}", v.get<double>(), decimals) : std::string("n/a");
}

// The table in the layout of the paper's Tables 5/6, as Markdown (also printed).
std::string ablation_table(const nlohmann::json& rows) {
  std::string s =
      "| variant | conditioning | fusion | F-Consistency_4 | F-Consistency_all | FD (ours; "
      "FVD stand-in) | first-frame PSNR (dB) | motion ratio | motion tracking | final training "
      "loss |\n"
      "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  for (const auto& r : rows) {
    const auto& m = r["metrics"];
    // Evaluations stored before motion tracking existed lack it: n/a.
    const nlohmann::json tracking = m.contains("motion_tracking") ? m["motion_tracking"] : nullptr;
    s += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                     r["variant"].get<std::string>(), r["conditioning"].get<std::string>(),
                     r["fusion"].get<std::string>(), cell(m["f_consistency_4"], 2),
                     cell(m["f_consistency_all"], 2), cell(m["fd"], 4), cell(m["psnr_first"], 2),
                     cell(m["motion_ratio"], 3), cell(tracking, 3), cell(r["final_loss"], 4));
  }
  if (!rows.empty()) {
    const auto& m = rows[0]["metrics"];
    s += fmt::format("| real clips (reference) | | | {} | {} | 0 | | 1 | 1 | |\n",
                     cell(m["real_f_consistency_4"], 2), cell(m["real_f_consistency_all"], 2));
  }
  return s;
}

void ablate(const AblateArgs& a) {
  TrainConfig base = base_config(a.config);
  if (a.steps > 0) base.steps = a.steps;
  base.validate();
  std::filesystem::create_directories(a.out + "/configs");
  nlohmann::json rows = nlohmann::json::array();
  for (const Variant& v : kVariants) {
    TrainConfig config = base;
    config.model.conditioning = v.conditioning;
    config.model.fusion = v.fusion;
    config.validate();
    const std::string config_path = fmt::format("{}/configs/{}.json", a.out, v.folder);
    write_text(config_path, config.to_json() + "\n");

    const std::string dir = a.out + "/" + v.folder;
    RunFolder run(dir);
    const std::string final_ckpt = run.checkpoint_path(config.steps);
    fmt::print("== {} (conditioning {}, fusion {}) in {}\n", v.name,
               conditioning_name(v.conditioning), fusion_name(v.fusion), dir);
    if (std::filesystem::exists(final_ckpt)) {
      fmt::print("already trained: {}\n", final_ckpt);
    } else {
      TrainArgs t;
      t.config = config_path;
      t.data = a.data;
      t.out = dir;
      t.steps = config.steps;
      t.resume = run.latest_checkpoint().has_value();
      t.loader_threads = a.loader_threads;
      std::filesystem::remove(dir + "/eval.json");  // an evaluation of older weights
      run_training(t);
      if (!std::filesystem::exists(final_ckpt)) {  // Ctrl-C, or a run already past that step
        fmt::print(
            "{} has no checkpoint of step {} (interrupted? run `trip ablate` again to continue; a "
            "run already past that step needs another --out)\n",
            dir, config.steps);
        return;
      }
    }

    EvalArgs e;
    e.ckpt = final_ckpt;
    e.data = a.data;
    e.clips = a.clips;
    e.steps = a.sample_steps;
    e.seed = a.seed;
    e.quiet = true;
    const std::string eval_path = dir + "/eval.json";
    nlohmann::json evaluation;
    if (std::filesystem::exists(eval_path)) {
      const auto stored = nlohmann::json::parse(read_text(eval_path));
      const auto& s = stored["settings"];
      const bool same = s.value("checkpoint", "") == e.ckpt && s.value("data", "") == e.data &&
                        s.value("requested_clips", int64_t(0)) == e.clips &&
                        s.value("steps", int64_t(0)) == e.steps &&
                        s.value("seed", std::string()) == std::to_string(e.seed);
      if (same) {
        fmt::print("evaluation reused: {}\n", eval_path);
        evaluation = stored;
      }
    }
    if (evaluation.is_null()) {
      evaluation = evaluate_checkpoint(e).to_json();
      write_text(eval_path, evaluation.dump(2) + "\n");
    }
    const auto losses = run.losses();
    rows.push_back(
        {{"variant", v.name},
         {"folder", v.folder},
         {"conditioning", conditioning_name(v.conditioning)},
         {"fusion", fusion_name(v.fusion)},
         {"checkpoint", final_ckpt},
         {"steps", config.steps},
         {"final_loss", losses.empty() ? nlohmann::json() : nlohmann::json(losses.back().second)},
         {"settings", evaluation["settings"]},
         {"metrics", evaluation["metrics"]}});
  }
  const std::string table = ablation_table(rows);
  const nlohmann::json summary = {{"data", a.data},
                                  {"config", a.config},
                                  {"steps", base.steps},
                                  {"clips", a.clips},
                                  {"sample_steps", a.sample_steps},
                                  {"seed", a.seed},
                                  {"variants", rows}};
  write_text(a.out + "/ablation.json", summary.dump(2) + "\n");
  write_text(a.out + "/ablation.md",
             fmt::format("# TRIP ablation on {} ({} steps each, {} held-out clips, {} DDIM "
                         "steps)\n\nMetrics: trip/README.md, \"Evaluation\" (our feature space; "
                         "not comparable with the paper's CLIP/FVD values).\n\n{}",
                         a.data, base.steps, rows[0]["settings"]["clips"].get<int64_t>(),
                         a.sample_steps, table));
  fmt::print("\n{}\nwrote {}/ablation.json and {}/ablation.md\n", table, a.out, a.out);
}

}  // namespace

void add_ablate_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "ablate", "Train and evaluate TRIP, TRIP^-, TRIP^W, TRIP_C, TRIP_TE (paper Tables 5/6)");
  auto a = std::make_shared<AblateArgs>();
  cmd->add_option("--data", a->data, "clip dataset (.h5)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", a->out, "folder: one run folder per variant, ablation.json/.md")
      ->required();
  cmd->add_option("--config", a->config,
                  "preset (tiny, modelscope) or a JSON file of TrainConfig keys; the variants "
                  "change only conditioning and fusion")
      ->capture_default_str();
  cmd->add_option("--steps", a->steps, "training steps of every variant (overrides the config)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--clips", a->clips, "held-out clips evaluated per variant")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(100000)));
  cmd->add_option("--sample-steps", a->sample_steps, "DDIM steps of the evaluation")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--seed", a->seed, "evaluation noise seed")->capture_default_str();
  cmd->add_option("--loader-threads", a->loader_threads, "background threads building batches")
      ->capture_default_str()
      ->check(CLI::Range(0, 64));
  cmd->callback([a] { ablate(*a); });
}

}  // namespace trip::cli
