// defines: write_file_atomically(), the one way nn/io/ replaces a file: write a temporary file in
// the same folder, fsync it, rename it over the target, fsync the folder. A crash or an exception
// at any point leaves either the old file or the complete new one, never a half-written file; and
// io_testing::fault_hook, through which tests simulate such a crash mid-write.
#pragma once
#include <functional>
#include <string>
#include <string_view>

namespace trip::nn {

// Calls write(tmp_path) to produce the new contents under a temporary name next to `path`, then
// makes them durable and atomically visible as `path`. When write (or any later step) throws, the
// temporary file is removed and the exception propagates; `path` is untouched.
void write_file_atomically(const std::string& path,
                           const std::function<void(const std::string& tmp_path)>& write);

namespace io_testing {
// When set, writers call it at named stages ("safetensors.data", "checkpoint.model",
// "atomic.before_rename"); a hook that throws simulates a crash at that point.
extern std::function<void(std::string_view stage)> fault_hook;
inline void stage(std::string_view name) {
  if (fault_hook) fault_hook(name);
}
}  // namespace io_testing

}  // namespace trip::nn
