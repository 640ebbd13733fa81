// defines: the clip dataset file (HDF5, schema in data/README.md): DatasetWriter, which appends
// videos to a temporary file and publishes it atomically on close(), and ClipDataset, which reads
// video metadata without pixels, whole videos, or only the frames a clip needs.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/video.h"

namespace trip::data {

inline constexpr const char* kClipFormat = "trip.clips";
inline constexpr int64_t kClipFormatVersion = 1;

// What info() returns: a video's shape and text, read without touching its pixels.
struct VideoInfo {
  int64_t frames = 0, height = 0, width = 0;
  double fps = 0;
  std::string caption, origin;
};

struct WriterOptions {
  bool overwrite = false;  // replace an existing file at close(); else an existing file is an error
  bool append = false;     // start from the videos of an existing file (it is replaced at close())
  int gzip = 0;            // deflate level 0 (off) .. 9 for the frames datasets
  int64_t chunk_frames = 4;  // frames per HDF5 chunk: a clip read decodes only the chunks it hits
};

// Writes a dataset. Nothing is visible at `path` until close() returns: the videos go to a
// temporary file next to it, which close() renames over `path` (or links to it, when overwrite
// is off, so that a file created meanwhile is never replaced). A writer destroyed without close()
// (an exception, a crash) removes its temporary file and leaves `path` as it was.
class DatasetWriter {
 public:
  explicit DatasetWriter(const std::string& path, WriterOptions options = {});
  ~DatasetWriter();
  DatasetWriter(const DatasetWriter&) = delete;
  DatasetWriter& operator=(const DatasetWriter&) = delete;

  // Stores the video as /videos/<size()>; validates it first (a bad video writes nothing).
  void append(const Video& video);
  int64_t size() const;  // videos written so far (including those of an appended file)
  void close();          // writes the count, flushes, fsyncs and publishes the file

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// Reads a dataset. Every error (missing, truncated or non-HDF5 file, wrong format or version, a
// video whose shape or attributes are wrong) is a trip::Error naming the file and the video.
// Safe to use from several threads: HDF5 calls are serialised by a process-wide lock.
class ClipDataset {
 public:
  explicit ClipDataset(const std::string& path);
  ~ClipDataset();
  ClipDataset(ClipDataset&&) noexcept;
  ClipDataset& operator=(ClipDataset&&) noexcept;

  const std::string& path() const;
  int64_t size() const;
  VideoInfo info(int64_t index) const;
  Video read(int64_t index) const;
  // The listed frames (any order, repeats allowed) as a video of frame_indices.size() frames;
  // only the HDF5 chunks holding them are read and decoded.
  Video read_frames(int64_t index, const std::vector<int64_t>& frame_indices) const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// What `trip data info` prints: totals over every video's metadata (no pixels are read).
struct DatasetSummary {
  int64_t videos = 0, total_frames = 0, min_frames = 0, max_frames = 0;
  double min_fps = 0, max_fps = 0;
  std::vector<std::pair<int64_t, int64_t>> sizes;  // distinct (height, width), sorted
  int64_t captioned = 0;                           // videos with a non-empty caption
  uint64_t file_bytes = 0;
};
DatasetSummary summarize(const ClipDataset& dataset);
// A few lines of text: the path, the summary and the first `show` videos (index, shape, fps,
// caption, origin).
std::string describe(const ClipDataset& dataset, int64_t show = 5);

}  // namespace trip::data
