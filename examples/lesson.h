// defines: LessonArgs and parse_lesson_args, the command line every lesson shares
// (`--quick` for the test's short run, `--out DIR` for pictures, `--seed N`), and output_file,
// which creates the output folder and prints where a picture went.
//
// Lessons stay free of argument-parsing noise: this header is the only shared code in examples/.
#pragma once
#include <fmt/core.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

struct LessonArgs {
  bool quick = false;                // the tests run every lesson with --quick (a few seconds)
  std::string out = "examples_out";  // pictures go here (created when missing)
  unsigned long long seed = 0;
};

inline LessonArgs parse_lesson_args(int argc, char** argv) {
  LessonArgs args;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    const bool has_value = i + 1 < argc;
    if (std::strcmp(a, "--quick") == 0) {
      args.quick = true;
    } else if (std::strcmp(a, "--out") == 0 && has_value) {
      args.out = argv[++i];
    } else if (std::strcmp(a, "--seed") == 0 && has_value) {
      args.seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      fmt::print(stderr, "usage: {} [--quick] [--out DIR] [--seed N]\n", argv[0]);
      std::exit(std::strcmp(a, "--help") == 0 ? 0 : 2);
    }
  }
  return args;
}

// The path of a picture in the output folder; creates the folder and says where the file goes.
inline std::string output_file(const LessonArgs& args, const std::string& name) {
  std::filesystem::create_directories(args.out);
  std::string path = (std::filesystem::path(args.out) / name).string();
  fmt::print("writing {}\n", path);
  return path;
}
