// defines: the subcommands of the `trip` program, each registered on the CLI11 app by one
// function in its own file (main.cpp calls them all).
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

namespace trip::cli {

void add_inspect_command(CLI::App& app);  // inspect_command.cpp
void add_train_command(CLI::App& app);    // train_command.cpp
void add_data_commands(CLI::App& app);    // data_commands.cpp
void add_sample_command(CLI::App& app);   // sample_command.cpp
void add_eval_command(CLI::App& app);     // eval_command.cpp
void add_ablate_command(CLI::App& app);   // ablate_command.cpp

// The DDIM options `trip sample` and `trip eval` share: --steps, --guidance, --spacing, --seed.
inline void add_ddim_options(CLI::App* cmd, int64_t& steps, double& guidance, std::string& spacing,
                             uint64_t& seed) {
  cmd->add_option("--steps", steps, "DDIM steps")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--guidance", guidance, "classifier-free guidance scale (1: none)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 50.0));
  cmd->add_option("--spacing", spacing, "DDIM timesteps as diffusers spaces them")
      ->capture_default_str()
      ->check(CLI::IsMember({"leading", "trailing", "linspace"}));
  cmd->add_option("--seed", seed, "noise seed")->capture_default_str();
}

}  // namespace trip::cli
