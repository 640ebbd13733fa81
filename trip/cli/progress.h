// defines: Progress, what long commands print while they run: on a terminal one self-updating
// bar line (done/total, rate, ETA, a detail such as the loss); otherwise (a log file, CI) one
// plain line every `every` updates, so logs stay readable.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace trip::cli {

class Progress {
 public:
  // `initial`: already done before this run (a resumed training run); rate and ETA count from it.
  Progress(std::string label, int64_t total, int64_t every = 10, int64_t initial = 0);
  // `done` of total finished; `detail` is shown after the rate (e.g. "loss 0.1234").
  void update(int64_t done, const std::string& detail = "");
  void finish(const std::string& detail = "");  // ends the bar line
  double rate() const;                          // updates per second since the start

 private:
  std::string label_;
  int64_t total_, every_, start_done_, last_done_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

std::string format_duration(double seconds);  // "1h02m", "3m05s", "12s"

}  // namespace trip::cli
