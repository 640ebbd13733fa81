// defines: run_process, which runs an external program (ffmpeg, ffprobe) from an argument vector,
// never through a shell, feeding bytes to its stdin and streaming its stdout, and keeping the end
// of its stderr for error messages; find_program, the PATH look-up.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace trip::data {

struct ProcessResult {
  int exit_code = -1;       // the program's exit status; -1 when a signal ended it
  int signal = 0;           // the signal that ended it, or 0
  std::string stderr_tail;  // the last 64 KiB of what it wrote on stderr

  bool ok() const { return exit_code == 0 && signal == 0; }
  // "exit status 1" / "killed by signal 9", then the last `lines` lines of stderr.
  std::string describe(int lines = 8) const;
};

struct ProcessOptions {
  // Seconds after which the program is killed (SIGKILL) and run_process throws; 0: no limit.
  double timeout_seconds = 0;
};

// Runs argv[0] (looked up on PATH) with the arguments argv[1..]. `input` is written to its stdin,
// which is then closed (an empty input gives an immediately closed stdin); every chunk of its
// stdout is passed to `on_stdout` (may be empty: stdout is discarded). stdin, stdout and stderr are
// serviced together with poll() so a program that writes much before reading all its input cannot
// deadlock. The child is always reaped, also when `on_stdout` throws or the timeout expires (it is
// killed first). SIGPIPE is blocked in the calling thread while the program runs: a program that
// exits early only makes the remaining input unwritten. Throws trip::Error when the program cannot
// be started (naming it, and for a missing program saying so).
ProcessResult run_process(const std::vector<std::string>& argv, std::span<const uint8_t> input = {},
                          const std::function<void(const uint8_t*, size_t)>& on_stdout = {},
                          const ProcessOptions& options = {});

// The full path of `program` found on PATH (or `program` itself when it contains a '/' and is
// executable), or "" when there is none.
std::string find_program(const std::string& program);

}  // namespace trip::data
