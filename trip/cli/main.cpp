// The `trip` program: train TRIP on video clips and animate images, with no Python anywhere.
// `trip --help` lists the subcommands; every one has its own --help. Errors print one line
// ("trip: error: ...") and exit with status 1; bad arguments exit with status 2 (CLI11's usage
// error), never a crash.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <exception>

#include "tensor/error.h"
#include "trip/cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"trip: TRIP image-to-video diffusion (train, sample, evaluate) in C++/CUDA"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Print the help of every subcommand");
  // One line per usage error, in the same form as the other errors.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return fmt::format("trip: error: {} (see --help)\n", e.what());
  });
  trip::cli::add_data_commands(app);
  trip::cli::add_train_command(app);
  trip::cli::add_sample_command(app);
  trip::cli::add_inspect_command(app);
  trip::cli::add_eval_command(app);
  trip::cli::add_ablate_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int status = app.exit(e);  // prints help (status 0) or the one-line error
    return status == 0 ? 0 : 2;
  } catch (const trip::Error& e) {
    fmt::print(stderr, "trip: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "trip: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
