#include "trip/cli/progress.h"

#include <fmt/core.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace trip::cli {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t s = static_cast<int64_t>(std::llround(seconds));
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

Progress::Progress(std::string label, int64_t total, int64_t every, int64_t initial)
    : label_(std::move(label)),
      total_(total),
      every_(every < 1 ? 1 : every),
      start_done_(initial),
      last_done_(initial),
      tty_(::isatty(::fileno(stdout)) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

double Progress::rate() const {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return seconds > 0 ? double(last_done_ - start_done_) / seconds : 0;
}

void Progress::update(int64_t done, const std::string& detail) {
  last_done_ = done;
  const double r = rate();
  const double eta = r > 0 ? double(total_ - done) / r : NAN;
  if (tty_) {
    const auto now = std::chrono::steady_clock::now();
    if (done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    const int width = 24;
    const int filled = total_ > 0 ? int(width * double(done) / double(total_)) : 0;
    fmt::print("\r{} [{}{}] {}/{} {:.2f} it/s ETA {} {}\x1b[K", label_, std::string(filled, '#'),
               std::string(width - filled, '.'), done, total_, r, format_duration(eta), detail);
    std::fflush(stdout);
  } else if (done % every_ == 0 || done == total_) {
    fmt::print("{} {}/{} {:.2f} it/s ETA {} {}\n", label_, done, total_, r, format_duration(eta),
               detail);
    std::fflush(stdout);
  }
}

void Progress::finish(const std::string& detail) {
  if (tty_) fmt::print("\n");
  if (!detail.empty()) fmt::print("{}\n", detail);
  std::fflush(stdout);
}

}  // namespace trip::cli
