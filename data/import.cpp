#include "data/import.h"

#include <fmt/ranges.h>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "data/captions.h"
#include "data/export.h"
#include "data/process.h"
#include "tensor/error.h"

namespace trip::data {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// "file:" keeps ffmpeg from reading a path as an option ("-x.mp4") or a protocol ("http:x").
std::string ffmpeg_path(const std::string& path) { return "file:" + path; }

// "30000/1001" -> 29.97; "0/0", "" or garbage -> 0.
double parse_rate(const json& value) {
  if (!value.is_string()) return 0;
  const std::string text = value.get<std::string>();
  const size_t slash = text.find('/');
  char* end = nullptr;
  const double num = std::strtod(text.c_str(), &end);
  if (slash == std::string::npos) return std::isfinite(num) && num > 0 ? num : 0;
  const double den = std::strtod(text.c_str() + slash + 1, &end);
  return den > 0 && num > 0 && std::isfinite(num / den) ? num / den : 0;
}

double parse_number(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key)) return 0;
  const json& v = object[key];
  if (v.is_number()) return v.get<double>();
  if (!v.is_string()) return 0;
  const double d = std::strtod(v.get<std::string>().c_str(), nullptr);
  return std::isfinite(d) && d > 0 ? d : 0;
}

std::string scale_filter(const ImportOptions& o) {
  const int64_t W = o.width, H = o.height;
  switch (o.fit) {
    case Fit::crop:
      return fmt::format("scale={}:{}:force_original_aspect_ratio=increase:flags=area,crop={}:{}",
                         W, H, W, H);
    case Fit::pad:
      return fmt::format(
          "scale={}:{}:force_original_aspect_ratio=decrease:flags=area,pad={}:{}:(ow-iw)/2:"
          "(oh-ih)/2",
          W, H, W, H);
    case Fit::stretch:
      return fmt::format("scale={}:{}:flags=area", W, H);
  }
  return "";
}

}  // namespace

StreamInfo probe_video(const std::string& path) {
  std::error_code ec;
  TRIP_CHECK(fs::is_regular_file(path, ec), "probe_video: '{}' does not exist or is not a file",
             path);
  require_ffmpeg("probe_video", "ffprobe");
  std::string out;
  const ProcessResult result = run_process(
      {"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_streams", "-show_format", "-of",
       "json", ffmpeg_path(path)},
      {},
      [&](const uint8_t* data, size_t n) { out.append(reinterpret_cast<const char*>(data), n); },
      ProcessOptions{.timeout_seconds = 120});
  TRIP_CHECK(result.ok(), "probe_video: ffprobe cannot read '{}': {}", path, result.describe());
  json doc;
  try {
    doc = json::parse(out);
  } catch (const json::exception& e) {
    fail("probe_video: ffprobe's answer for '{}' is not JSON: {}", path, e.what());
  }
  TRIP_CHECK(doc.contains("streams") && doc["streams"].is_array() && !doc["streams"].empty(),
             "probe_video: '{}' has no video stream", path);
  const json& s = doc["streams"][0];
  StreamInfo info;
  info.width = static_cast<int64_t>(parse_number(s, "width"));
  info.height = static_cast<int64_t>(parse_number(s, "height"));
  // The nominal rate when the average agrees with it (GIF delays in 1/100 s make 8 fps average
  // 7.83), else the average (variable-rate files, whose r_frame_rate can be a timebase like 90k).
  const double average = parse_rate(s.value("avg_frame_rate", json()));
  const double nominal = parse_rate(s.value("r_frame_rate", json()));
  info.fps = average > 0 ? average : nominal;
  if (average > 0 && nominal > 0 && std::abs(nominal - average) < 0.1 * average) info.fps = nominal;
  info.duration = parse_number(s, "duration");
  if (info.duration <= 0) info.duration = parse_number(doc.value("format", json()), "duration");
  info.frames = static_cast<int64_t>(parse_number(s, "nb_frames"));
  info.codec = s.value("codec_name", std::string());
  // Phones store portrait video as landscape plus a rotation; ffmpeg applies it when decoding.
  double rotation = parse_number(s.value("tags", json()), "rotate");
  if (s.contains("side_data_list") && s["side_data_list"].is_array())
    for (const json& side : s["side_data_list"])
      if (side.is_object() && side.contains("rotation") && side["rotation"].is_number())
        rotation = side["rotation"].get<double>();
  const int64_t quarter = static_cast<int64_t>(std::lround(rotation / 90.0));
  if (quarter % 2 != 0) std::swap(info.width, info.height);
  TRIP_CHECK(info.width > 0 && info.height > 0, "probe_video: '{}': no frame size in its stream",
             path);
  return info;
}

Video import_video(const std::string& path, const ImportOptions& options) {
  TRIP_CHECK(
      (options.height > 0 && options.width > 0) || (options.height == 0 && options.width == 0),
      "import_video: target size {}x{} must be positive, or 0x0 for the file's own", options.width,
      options.height);
  TRIP_CHECK(options.max_frames >= 0 && options.max_seconds >= 0 && options.fps >= 0,
             "import_video: max_frames {}, max_seconds {} and fps {} must not be negative",
             options.max_frames, options.max_seconds, options.fps);
  require_ffmpeg("import_video");
  const StreamInfo info = probe_video(path);
  const double fps = options.fps > 0 ? options.fps : info.fps;
  TRIP_CHECK(fps > 0, "import_video: '{}' has no frame rate; set ImportOptions::fps", path);
  const bool native = options.height == 0;
  const int64_t H = native ? info.height : options.height, W = native ? info.width : options.width;

  std::vector<std::string> filters;
  if (options.fps > 0) filters.push_back(fmt::format("fps={}", options.fps));
  if (!native) filters.push_back(scale_filter(options));
  filters.push_back("setsar=1");
  std::vector<std::string> argv = {"ffmpeg",   "-hide_banner", "-nostdin",
                                   "-nostats", "-loglevel",    "error"};
  if (options.max_seconds > 0) {
    argv.push_back("-t");
    argv.push_back(fmt::format("{}", options.max_seconds));
  }
  for (const std::string& a : {std::string("-i"), ffmpeg_path(path), std::string("-map"),
                               std::string("0:v:0"), std::string("-an"), std::string("-sn"),
                               std::string("-vf"), fmt::format("{}", fmt::join(filters, ",")),
                               std::string("-fps_mode"), std::string("passthrough")})
    argv.push_back(a);
  if (options.max_frames > 0) {
    argv.push_back("-frames:v");
    argv.push_back(std::to_string(options.max_frames));
  }
  for (const char* a : {"-f", "rawvideo", "-pix_fmt", "rgb24", "-"}) argv.push_back(a);

  Video video;
  video.height = H;
  video.width = W;
  video.fps = fps;
  video.origin = path;
  const ProcessResult result = run_process(
      argv, {},
      [&](const uint8_t* data, size_t n) { video.rgb.insert(video.rgb.end(), data, data + n); },
      ProcessOptions{.timeout_seconds = options.timeout_seconds});
  TRIP_CHECK(result.ok(), "import_video: ffmpeg cannot decode '{}': {}", path, result.describe());
  TRIP_CHECK(video.rgb.size() % video.frame_bytes() == 0,
             "import_video: '{}' decoded to {} bytes, not whole {}x{} RGB frames", path,
             video.rgb.size(), W, H);
  video.frames = static_cast<int64_t>(video.rgb.size() / video.frame_bytes());
  TRIP_CHECK(video.frames > 0, "import_video: no frames decoded from '{}': {}", path,
             result.describe());
  const std::string id = fs::path(path).stem().string();
  const auto caption = options.captions.find(id);
  video.caption = caption != options.captions.end() ? caption->second : caption_beside(path);
  video.validate();
  return video;
}

std::vector<std::string> find_videos(const std::string& folder) {
  static const std::vector<std::string> extensions = {".mp4", ".m4v", ".mov", ".mkv",  ".webm",
                                                      ".avi", ".gif", ".mpg", ".mpeg", ".ts",
                                                      ".flv", ".wmv", ".ogv", ".3gp"};
  std::error_code ec;
  TRIP_CHECK(fs::is_directory(folder, ec), "find_videos: '{}' is not a folder", folder);
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (!entry.is_regular_file()) continue;
    std::string ext = entry.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (std::find(extensions.begin(), extensions.end(), ext) != extensions.end())
      found.push_back(entry.path().string());
  }
  std::sort(found.begin(), found.end());
  return found;
}

ImportReport import_videos(const std::vector<std::string>& paths, const ImportOptions& options,
                           const std::function<void(Video&&)>& sink) {
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      const auto inside = find_videos(p);
      files.insert(files.end(), inside.begin(), inside.end());
    } else {
      files.push_back(p);
    }
  }
  ImportReport report;
  for (const std::string& file : files) {
    Video video;
    try {
      video = import_video(file, options);
    } catch (const Error& e) {
      if (!options.skip_failures) throw;
      report.failures.push_back(e.what());
      continue;
    }
    sink(std::move(video));  // errors of the sink (a full disk) always stop the import
    ++report.imported;
  }
  return report;
}

std::vector<Video> import_videos(const std::vector<std::string>& paths,
                                 const ImportOptions& options) {
  std::vector<Video> videos;
  import_videos(paths, options, [&](Video&& v) { videos.push_back(std::move(v)); });
  return videos;
}

}  // namespace trip::data
