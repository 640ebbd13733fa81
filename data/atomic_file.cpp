#include "data/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "tensor/error.h"

namespace trip::data {

namespace fs = std::filesystem;

PendingFile::PendingFile(const std::string& path) : path_(path) {
  TRIP_CHECK(!path.empty(), "cannot write a file with an empty path");
  std::error_code ec;
  TRIP_CHECK(!fs::is_directory(path, ec), "cannot write '{}': it is a folder", path);
  const fs::path parent = fs::path(path).parent_path();
  TRIP_CHECK(parent.empty() || fs::is_directory(parent, ec),
             "cannot write '{}': folder '{}' does not exist", path, parent.string());
  // Unique among processes (pid) and threads (counter); ends like a hidden temporary file.
  static std::atomic<uint64_t> counter{0};
  temporary_ = fmt::format("{}.tmp-{}-{}", path, ::getpid(), counter++);
}

PendingFile::~PendingFile() {
  if (!committed_) std::remove(temporary_.c_str());
}

void PendingFile::commit() {
  TRIP_CHECK(!committed_, "PendingFile '{}' committed twice", path_);
  if (std::rename(temporary_.c_str(), path_.c_str()) != 0) {
    const int error = errno;
    std::remove(temporary_.c_str());
    committed_ = true;
    fail("cannot move '{}' to '{}': {}", temporary_, path_, std::strerror(error));
  }
  committed_ = true;
}

void write_file_atomically(const std::string& path, std::span<const uint8_t> bytes) {
  PendingFile pending(path);
  const int fd =
      ::open(pending.temporary().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  TRIP_CHECK(fd >= 0, "cannot create '{}': {}", pending.temporary(), std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const int error = errno;
      ::close(fd);
      fail("cannot write '{}': {}", path, std::strerror(error));
    }
    done += static_cast<size_t>(w);
  }
  const bool synced = ::fsync(fd) == 0;
  const int error = errno;
  const bool closed = ::close(fd) == 0;
  TRIP_CHECK(synced && closed, "cannot write '{}': {}", path,
             std::strerror(synced ? errno : error));
  pending.commit();
}

}  // namespace trip::data
