#include "data/process.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "tensor/error.h"

extern char** environ;

namespace trip::data {
namespace {

constexpr size_t kStderrKeep = 64 * 1024;

// Closes a descriptor once; -1 means already closed.
void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

struct Pipe {
  int read = -1, write = -1;
  Pipe() {
    int fds[2];
    // O_CLOEXEC: no other child started meanwhile (another thread) inherits our ends.
    TRIP_CHECK(::pipe2(fds, O_CLOEXEC) == 0, "run_process: pipe failed: {}", std::strerror(errno));
    read = above_stdio(fds[0]);
    write = above_stdio(fds[1]);
  }
  // A caller started with stdin/stdout/stderr closed gets pipe ends numbered 0..2, which the
  // child's dup2 onto 0..2 would clobber (or leave close-on-exec): move them to 3 or above.
  static int above_stdio(int fd) {
    if (fd > 2) return fd;
    const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    const int error = errno;
    ::close(fd);
    TRIP_CHECK(moved >= 0, "run_process: fcntl failed: {}", std::strerror(error));
    return moved;
  }
  ~Pipe() {
    close_fd(read);
    close_fd(write);
  }
};

// Blocks SIGPIPE in this thread for the lifetime of the object and swallows one raised meanwhile:
// writing to a program that has exited then fails with EPIPE instead of killing us.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_set_);
    sigaddset(&pipe_set_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set_, &old_);
  }
  ~SigpipeBlock() {
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) && !sigismember(&old_, SIGPIPE)) {
      const timespec zero{0, 0};
      sigtimedwait(&pipe_set_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t pipe_set_, old_;
};

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

std::string ProcessResult::describe(int lines) const {
  std::string text = signal ? fmt::format("killed by signal {}", signal)
                            : fmt::format("exit status {}", exit_code);
  // The last `lines` non-empty lines of stderr: ffmpeg puts the cause at the end.
  std::vector<std::string> kept;
  size_t end = stderr_tail.size();
  while (end > 0 && static_cast<int>(kept.size()) < lines) {
    size_t start = stderr_tail.rfind('\n', end - 1);
    start = start == std::string::npos ? 0 : start + 1;
    std::string line = stderr_tail.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) kept.insert(kept.begin(), line);
    end = start == 0 ? 0 : start - 1;
  }
  for (const std::string& line : kept) text += "\n  " + line;
  return text;
}

std::string find_program(const std::string& program) {
  if (program.empty()) return "";
  if (program.find('/') != std::string::npos)
    return ::access(program.c_str(), X_OK) == 0 ? program : "";
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    // An empty PATH entry means the current folder.
    const std::string candidate =
        (end == start ? std::string(".") : dirs.substr(start, end - start)) + "/" + program;
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  return "";
}

ProcessResult run_process(const std::vector<std::string>& argv, std::span<const uint8_t> input,
                          const std::function<void(const uint8_t*, size_t)>& on_stdout,
                          const ProcessOptions& options) {
  TRIP_CHECK(!argv.empty() && !argv[0].empty(), "run_process: empty argument vector");
  const std::string program = find_program(argv[0]);
  TRIP_CHECK(!program.empty(), "run_process: program '{}' not found on PATH", argv[0]);

  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  SigpipeBlock block_sigpipe;
  Pipe in, out, err;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.read, 0);
  posix_spawn_file_actions_adddup2(&actions, out.write, 1);
  posix_spawn_file_actions_adddup2(&actions, err.write, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The child starts with no blocked signals and default SIGPIPE, whatever the caller had.
  sigset_t none, pipe_only;
  sigemptyset(&none);
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &pipe_only);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int spawn_error = posix_spawn(&pid, program.c_str(), &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  TRIP_CHECK(spawn_error == 0, "run_process: cannot start '{}': {}", program,
             std::strerror(spawn_error));
  close_fd(in.read);
  close_fd(out.write);
  close_fd(err.write);
  set_nonblocking(in.write);
  set_nonblocking(out.read);
  set_nonblocking(err.read);

  ProcessResult result;
  size_t written = 0;
  if (input.empty()) close_fd(in.write);
  const auto start = std::chrono::steady_clock::now();
  std::vector<uint8_t> buffer(1 << 16);
  try {
    while (out.read >= 0 || err.read >= 0) {
      pollfd fds[3];
      int n = 0;
      int in_slot = -1, out_slot = -1, err_slot = -1;
      if (in.write >= 0) fds[in_slot = n++] = {in.write, POLLOUT, 0};
      if (out.read >= 0) fds[out_slot = n++] = {out.read, POLLIN, 0};
      if (err.read >= 0) fds[err_slot = n++] = {err.read, POLLIN, 0};
      int wait_ms = -1;
      if (options.timeout_seconds > 0) {
        const double left =
            options.timeout_seconds -
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        TRIP_CHECK(left > 0, "run_process: '{}' still running after {} s; killed", argv[0],
                   options.timeout_seconds);
        wait_ms = static_cast<int>(left * 1000) + 1;
      }
      const int ready = ::poll(fds, static_cast<nfds_t>(n), wait_ms);
      if (ready < 0 && errno == EINTR) continue;
      TRIP_CHECK(ready >= 0, "run_process: poll failed: {}", std::strerror(errno));
      if (in_slot >= 0 && fds[in_slot].revents) {
        const ssize_t w = ::write(in.write, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        // EPIPE: the program stopped reading (it exited); its status tells why.
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input.size())
          close_fd(in.write);
      }
      auto drain = [&](int& fd, int slot, bool is_stdout) {
        if (slot < 0 || !fds[slot].revents) return;
        const ssize_t r = ::read(fd, buffer.data(), buffer.size());
        if (r > 0) {
          if (is_stdout) {
            if (on_stdout) on_stdout(buffer.data(), static_cast<size_t>(r));
          } else {
            result.stderr_tail.append(reinterpret_cast<const char*>(buffer.data()),
                                      static_cast<size_t>(r));
            if (result.stderr_tail.size() > 2 * kStderrKeep)
              result.stderr_tail.erase(0, result.stderr_tail.size() - kStderrKeep);
          }
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
          close_fd(fd);
        }
      };
      drain(out.read, out_slot, true);
      drain(err.read, err_slot, false);
    }
  } catch (...) {
    // Never leave a running or zombie child behind.
    ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    throw;
  }
  close_fd(in.write);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    TRIP_CHECK(errno == EINTR, "run_process: waitpid failed: {}", std::strerror(errno));
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  if (result.stderr_tail.size() > kStderrKeep)
    result.stderr_tail.erase(0, result.stderr_tail.size() - kStderrKeep);
  return result;
}

}  // namespace trip::data
