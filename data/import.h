// defines: import of real video files (mp4, webm, mkv, mov, avi, gif, ...) as Videos through the
// ffmpeg and ffprobe programs: frames scaled to a target size at the native frame rate, captions
// from a WebVid-style CSV or a .txt beside each file.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/video.h"

namespace trip::data {

// How a frame of another aspect ratio becomes height x width.
enum class Fit {
  crop,     // scale so the frame covers the target (the short side fits), then centre-crop
  pad,      // scale so the frame fits inside the target, then centre it on black bars
  stretch,  // scale each axis independently (distorts)
};

struct ImportOptions {
  int64_t height = 64, width = 64;  // target size; both 0 keeps the file's (rotated) size
  Fit fit = Fit::crop;
  int64_t max_frames = 0;  // > 0: keep at most this many frames from the start
  double max_seconds = 0;  // > 0: decode at most this many seconds from the start
  double fps = 0;          // > 0: resample to this rate (frames dropped/repeated); 0: native
  // Captions by video id (the file name without folder and extension), e.g. load_caption_csv.
  // A video not in the table takes the caption of the .txt beside it, else "".
  std::unordered_map<std::string, std::string> captions = {};
  bool skip_failures = false;    // import_videos: report a file that fails and go on
  double timeout_seconds = 600;  // per ffmpeg/ffprobe run; 0: none
};

// What ffprobe says of the first video stream.
struct StreamInfo {
  int64_t width = 0, height = 0;  // as displayed: swapped for a 90/270 degree rotation
  double fps = 0;                 // nominal rate if within 10% of the average, else average
  double duration = 0;            // seconds; 0 when unknown
  int64_t frames = 0;             // nb_frames when the container says; 0 when unknown
  std::string codec;
};
StreamInfo probe_video(const std::string& path);

// Decodes one file. Every decoded frame is kept once (no frame-rate conversion unless
// options.fps > 0) and the Video's fps is the stream's average rate, so a variable-rate file keeps
// all its frames with approximate timing. origin = path, caption as described in ImportOptions.
// Errors name the file and end with ffmpeg's last lines; a missing ffmpeg says to install it.
Video import_video(const std::string& path, const ImportOptions& options = {});

// The video files (by extension) directly inside `folder`, sorted by name.
std::vector<std::string> find_videos(const std::string& folder);

struct ImportReport {
  int64_t imported = 0;
  std::vector<std::string> failures;  // "path: reason" for the files skipped (skip_failures)
};

// Each entry of `paths` is a file or a folder (its videos, find_videos). Videos are decoded one at
// a time and handed to `sink`, so an import of any size streams into e.g. a DatasetWriter.
ImportReport import_videos(const std::vector<std::string>& paths, const ImportOptions& options,
                           const std::function<void(Video&&)>& sink);
// All imported videos in memory (for small imports and tests).
std::vector<Video> import_videos(const std::vector<std::string>& paths,
                                 const ImportOptions& options = {});

}  // namespace trip::data
