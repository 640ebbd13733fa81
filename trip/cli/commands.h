// defines: the subcommands of the `trip` program, each registered on the CLI11 app by one
// function in its own file (main.cpp calls them all).
#pragma once
#include <CLI/CLI.hpp>

namespace trip::cli {

void add_inspect_command(CLI::App& app);  // inspect_command.cpp
void add_train_command(CLI::App& app);    // train_command.cpp
void add_data_commands(CLI::App& app);    // data_commands.cpp
void add_sample_command(CLI::App& app);   // sample_command.cpp
void add_eval_command(CLI::App& app);     // eval_command.cpp
void add_ablate_command(CLI::App& app);   // ablate_command.cpp

}  // namespace trip::cli
