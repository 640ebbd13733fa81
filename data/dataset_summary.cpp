// defines: summarize() and describe(), the metadata overview of a clip dataset (trip data info).
#include <algorithm>
#include <filesystem>
#include <set>

#include "data/dataset.h"

namespace trip::data {

DatasetSummary summarize(const ClipDataset& dataset) {
  DatasetSummary s;
  s.videos = dataset.size();
  s.file_bytes = std::filesystem::file_size(dataset.path());
  std::set<std::pair<int64_t, int64_t>> sizes;
  for (int64_t i = 0; i < s.videos; ++i) {
    const VideoInfo v = dataset.info(i);
    s.total_frames += v.frames;
    s.min_frames = i == 0 ? v.frames : std::min(s.min_frames, v.frames);
    s.max_frames = std::max(s.max_frames, v.frames);
    s.min_fps = i == 0 ? v.fps : std::min(s.min_fps, v.fps);
    s.max_fps = std::max(s.max_fps, v.fps);
    sizes.insert({v.height, v.width});
    s.captioned += !v.caption.empty();
  }
  s.sizes.assign(sizes.begin(), sizes.end());
  return s;
}

std::string describe(const ClipDataset& dataset, int64_t show) {
  const DatasetSummary s = summarize(dataset);
  std::string sizes;
  for (size_t k = 0; k < s.sizes.size() && k < 8; ++k)
    sizes += fmt::format("{}{}x{}", k ? ", " : "", s.sizes[k].second, s.sizes[k].first);
  if (s.sizes.size() > 8) sizes += fmt::format(", ... ({} sizes)", s.sizes.size());
  std::string out = fmt::format(
      "{}: {} v{}, {} videos, {} frames ({}..{} per video), fps {}..{}, sizes (WxH) {}, {} "
      "captioned, {:.1f} MB\n",
      dataset.path(), kClipFormat, kClipFormatVersion, s.videos, s.total_frames, s.min_frames,
      s.max_frames, s.min_fps, s.max_fps, sizes.empty() ? "-" : sizes, s.captioned,
      double(s.file_bytes) / 1e6);
  for (int64_t i = 0; i < std::min(show, s.videos); ++i) {
    const VideoInfo v = dataset.info(i);
    out += fmt::format("  {:>6}  {} frames {}x{} @ {} fps  \"{}\"  ({})\n", i, v.frames, v.width,
                       v.height, v.fps, v.caption, v.origin);
  }
  return out;
}

}  // namespace trip::data
