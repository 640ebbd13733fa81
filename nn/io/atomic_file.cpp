#include "nn/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "tensor/error.h"

namespace trip::nn {

namespace io_testing {
std::function<void(std::string_view stage)> fault_hook;
}

namespace {

// fsync through a fresh descriptor: works for files written by any library (HDF5 keeps its own)
// and for directories, whose fsync makes a rename durable.
void fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) fail("cannot open {} to sync it: {}", path, std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) fail("fsync of {} failed: {}", path, std::strerror(err));
}

}  // namespace

void write_file_atomically(const std::string& path,
                           const std::function<void(const std::string& tmp_path)>& write) {
  namespace fs = std::filesystem;
  fs::path target(path);
  TRIP_CHECK(!target.filename().empty(), "cannot write {}: not a file name", path);
  std::string dir = target.parent_path().empty() ? "." : target.parent_path().string();
  // Same folder as the target: rename() is only atomic within one file system.
  std::string leaf = ".";  // appended piecewise: GCC 12 warns falsely (-Wrestrict) on a + b + c
  leaf += target.filename().string();
  leaf += ".tmp.XXXXXX";
  std::string pattern = (fs::path(dir) / leaf).string();
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0)
    fail("cannot write {}: cannot create a temporary file in {}: {}", path, dir,
         std::strerror(errno));
  // mkstemp makes the file private (0600); a checkpoint should be as readable as any other file.
  ::fchmod(fd, 0644);
  ::close(fd);
  std::string tmp(name.data());
  try {
    write(tmp);
    fsync_path(tmp, false);
    io_testing::stage("atomic.before_rename");
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
      fail("cannot write {}: rename of {} failed: {}", path, tmp, std::strerror(errno));
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  // Without this the rename itself may be lost on power failure (the old file would come back).
  fsync_path(dir, true);
}

}  // namespace trip::nn
