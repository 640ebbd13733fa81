// defines: write_file_atomically and PendingFile, so media writers never leave a half-written
// output under its final name: they write a temporary file beside it, then rename it into place.
#pragma once
#include <cstdint>
#include <span>
#include <string>

namespace trip::data {

// A temporary file beside `path` (same folder, so the final rename is atomic), removed by the
// destructor unless commit() moved it to `path`. The constructor checks that `path` is not a
// folder and that its folder exists, so errors name the real destination.
class PendingFile {
 public:
  explicit PendingFile(const std::string& path);
  ~PendingFile();
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;

  const std::string& temporary() const { return temporary_; }
  const std::string& destination() const { return path_; }
  // Renames the temporary file to the destination (throws trip::Error naming both on failure).
  void commit();

 private:
  std::string path_, temporary_;
  bool committed_ = false;
};

// Writes `bytes` to `path` through a PendingFile (flushed to disk before the rename).
void write_file_atomically(const std::string& path, std::span<const uint8_t> bytes);

}  // namespace trip::data
