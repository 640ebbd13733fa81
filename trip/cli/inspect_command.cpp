// `trip inspect FILE`: every tensor of an HDF5 checkpoint or a safetensors file (name, dtype,
// shape, min / max / mean / std), plus a checkpoint's step, optimizer groups and config.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <fstream>

#include "nn/io/checkpoint.h"
#include "nn/io/safetensors.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "trip/cli/commands.h"

namespace trip::cli {

namespace {

bool starts_with_hdf5_signature(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TRIP_CHECK(in.good(), "inspect: cannot open '{}'", path);
  char magic[8] = {};
  in.read(magic, 8);
  return in.gcount() == 8 && std::string(magic, 8) == "\x89HDF\r\n\x1a\n";
}

void print_tensors(const nn::NamedTensors& tensors, const std::string& filter, bool stats) {
  int64_t total = 0;
  for (const auto& [name, t] : tensors) {
    total += t.numel();
    if (!filter.empty() && name.find(filter) == std::string::npos) continue;
    std::string line = fmt::format("{:<64} {:<5} {:<20}", name, dtype_name(t.dtype()),
                                   fmt::format("{}", t.shape()));
    if (stats && t.numel() > 0 && is_floating(t.dtype())) {
      const Tensor x = ops::to(t, DType::f64);
      line += fmt::format(" min {:+.4e} max {:+.4e} mean {:+.4e} std {:.4e}",
                          ops::amin(x).item<double>(), ops::amax(x).item<double>(),
                          ops::mean(x).item<double>(),
                          t.numel() > 1 ? ops::std(x).item<double>() : 0.0);
    }
    fmt::print("{}\n", line);
  }
  fmt::print("{} tensors, {} elements\n", tensors.size(), total);
}

void inspect(const std::string& path, const std::string& filter, bool stats) {
  if (starts_with_hdf5_signature(path)) {
    const nn::TrainingState s = nn::load_checkpoint(path);
    fmt::print("{}: HDF5 checkpoint, step {}, rng seed {} offset {}\n", path, s.step, s.rng.seed,
               s.rng.offset);
    fmt::print("-- model\n");
    print_tensors(s.model, filter, stats);
    for (const nn::GroupState& g : s.optimizer) {
      fmt::print(
          "-- optimizer group '{}': lr {:g}, betas ({:g}, {:g}), eps {:g}, weight decay "
          "{:g}, {} parameters with state\n",
          g.name, g.lr, g.beta1, g.beta2, g.eps, g.weight_decay, g.params.size());
    }
    if (!s.ema.empty()) {
      fmt::print("-- EMA weights: {} tensors after {} updates\n", s.ema.size(), s.ema_updates);
    }
    fmt::print("-- config\n{}\n", s.config_json);
    return;
  }
  const nn::SafetensorsFile f = nn::read_safetensors(path);
  fmt::print("{}: safetensors\n", path);
  for (const auto& [key, value] : f.metadata) fmt::print("metadata {}: {}\n", key, value);
  print_tensors(f.tensors, filter, stats);
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "inspect",
      "List the tensors (name, dtype, shape, statistics) of an HDF5 checkpoint or a "
      "safetensors file, and a checkpoint's step and config");
  auto path = std::make_shared<std::string>();
  auto filter = std::make_shared<std::string>();
  auto no_stats = std::make_shared<bool>(false);
  cmd->add_option("FILE", *path, "checkpoint (.h5) or .safetensors file")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--filter", *filter, "only tensors whose name contains this text");
  cmd->add_flag("--no-stats", *no_stats, "skip min/max/mean/std (faster on large files)");
  cmd->callback([=] { inspect(*path, *filter, !*no_stats); });
}

}  // namespace trip::cli
