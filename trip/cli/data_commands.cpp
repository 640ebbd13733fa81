// `trip data synth|import|info`: build clip datasets (HDF5, data/README.md) from the built-in
// synthetic videos or from real video files, and describe one.
#include <fmt/core.h>

#include "data/captions.h"
#include "data/dataset.h"
#include "data/export.h"
#include "data/image.h"
#include "data/import.h"
#include "data/synthetic.h"
#include "tensor/error.h"
#include "trip/cli/commands.h"
#include "trip/cli/progress.h"

namespace trip::cli {

namespace {

struct SynthArgs {
  std::string out;
  int64_t videos = 1000, size = 32, frames = 16;
  double fps = 8.0;
  uint64_t seed = 0;
  bool overwrite = false;
  std::vector<std::string> motions, directions;
};

void synth(const SynthArgs& a) {
  data::SynthOptions options;
  options.count = a.videos;
  options.seed = a.seed;
  options.frames = a.frames;
  options.size = a.size;
  options.fps = a.fps;
  options.overwrite = a.overwrite;
  for (const std::string& m : a.motions)
    options.choice.motions.push_back(data::motion_from_name(m));
  options.choice.directions = a.directions;
  Progress progress("synth", a.videos, std::max<int64_t>(1, a.videos / 10));
  data::synthesize_dataset(a.out, options, [&](int64_t done, int64_t) { progress.update(done); });
  progress.finish(fmt::format("wrote {} synthetic videos ({} frames of {}x{} at {} fps) to {}",
                              a.videos, a.frames, a.size, a.size, a.fps, a.out));
}

struct ImportArgs {
  std::vector<std::string> inputs;
  std::string out, csv;
  int64_t size = 64, max_frames = 0;
  double max_seconds = 0;
  bool overwrite = false, skip_failures = false;
};

void import(const ImportArgs& a) {
  data::ImportOptions options;
  options.height = options.width = a.size;
  options.max_frames = a.max_frames;
  options.max_seconds = a.max_seconds;
  options.skip_failures = a.skip_failures;
  if (!a.csv.empty()) options.captions = data::load_caption_csv(a.csv);
  data::DatasetWriter writer(a.out, data::WriterOptions{.overwrite = a.overwrite});
  const data::ImportReport report = data::import_videos(a.inputs, options, [&](data::Video&& v) {
    fmt::print("imported {} ({} frames at {:.3g} fps): \"{}\"\n", v.origin, v.frames, v.fps,
               v.caption);
    writer.append(v);
  });
  TRIP_CHECK(report.imported > 0, "no video was imported from {} input(s)", a.inputs.size());
  writer.close();
  fmt::print("wrote {} videos to {}\n", report.imported, a.out);
  for (const std::string& failure : report.failures) fmt::print("skipped {}\n", failure);
}

struct ExportArgs {
  std::string data, out;
  int64_t video = 0, frame = -1;
};

void export_video(const ExportArgs& a) {
  const data::ClipDataset dataset(a.data);
  TRIP_CHECK(a.video >= 0 && a.video < dataset.size(), "--video {} is outside the {} videos of {}",
             a.video, dataset.size(), a.data);
  const data::Video video = dataset.read(a.video);
  if (a.frame >= 0) {
    TRIP_CHECK(a.frame < video.frames, "--frame {} is outside the {} frames of video {}", a.frame,
               video.frames, a.video);
    data::save_image(data::frame_image(video, a.frame), a.out);
  } else {
    data::save_video(video, a.out);
  }
  fmt::print("wrote {} (video {}: \"{}\")\n", a.out, a.video, video.caption);
}

}  // namespace

void add_data_commands(CLI::App& app) {
  CLI::App* data_cmd =
      app.add_subcommand("data", "Make and describe clip datasets (HDF5: data/README.md)");
  data_cmd->require_subcommand(1);

  CLI::App* synth_cmd = data_cmd->add_subcommand(
      "synth", "Write built-in synthetic videos (moving sprites, dynamic textures) with captions");
  auto s = std::make_shared<SynthArgs>();
  synth_cmd->add_option("--out", s->out, "dataset file to write (.h5)")->required();
  synth_cmd->add_option("--videos", s->videos, "number of videos")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  synth_cmd->add_option("--size", s->size, "frame width and height in pixels")
      ->capture_default_str()
      ->check(CLI::Range(8, 4096));
  synth_cmd->add_option("--frames", s->frames, "frames per video")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  synth_cmd->add_option("--fps", s->fps, "native frame rate")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  synth_cmd->add_option("--seed", s->seed, "the same seed writes the same videos")
      ->capture_default_str();
  synth_cmd
      ->add_option("--motions", s->motions,
                   "only these motions, comma-separated (move, bounce, rotate, grow, shrink, "
                   "stripes, waves, flicker; default all)")
      ->delimiter(',');
  synth_cmd
      ->add_option("--directions", s->directions,
                   "only these directions for move, stripes and waves, comma-separated (left, "
                   "right, up, down; default all)")
      ->delimiter(',');
  synth_cmd->add_flag("--overwrite", s->overwrite, "replace an existing file");
  synth_cmd->callback([s] { synth(*s); });

  CLI::App* import_cmd = data_cmd->add_subcommand(
      "import", "Decode video files (mp4, webm, gif, ...) with ffmpeg into a dataset");
  auto i = std::make_shared<ImportArgs>();
  import_cmd->add_option("INPUT", i->inputs, "video files or folders of videos")
      ->required()
      ->check(CLI::ExistingPath);
  import_cmd->add_option("--out", i->out, "dataset file to write (.h5)")->required();
  import_cmd
      ->add_option("--captions", i->csv,
                   "WebVid-style CSV (videoid,name,...); else a .txt beside each video")
      ->check(CLI::ExistingFile);
  import_cmd->add_option("--size", i->size, "frames are scaled and centre-cropped to size x size")
      ->capture_default_str()
      ->check(CLI::Range(8, 4096));
  import_cmd->add_option("--max-frames", i->max_frames, "keep at most this many frames per video");
  import_cmd->add_option("--max-seconds", i->max_seconds, "decode at most this many seconds");
  import_cmd->add_flag("--overwrite", i->overwrite, "replace an existing file");
  import_cmd->add_flag("--skip-failures", i->skip_failures,
                       "report undecodable files and go on (else the import stops)");
  import_cmd->callback([i] { import(*i); });

  CLI::App* export_cmd = data_cmd->add_subcommand(
      "export", "Write one video of a dataset as GIF/MP4/PNG strip, or one frame as an image");
  auto e = std::make_shared<ExportArgs>();
  export_cmd->add_option("FILE", e->data, "dataset (.h5)")->required()->check(CLI::ExistingFile);
  export_cmd->add_option("--video", e->video, "index of the video")->capture_default_str();
  export_cmd->add_option("--frame", e->frame, "write only this frame as an image (.png, .jpg)");
  export_cmd->add_option("--out", e->out, "file to write (.gif, .mp4, .png)")->required();
  export_cmd->callback([e] { export_video(*e); });

  CLI::App* info_cmd =
      data_cmd->add_subcommand("info", "Describe a dataset: sizes, rates, captions");
  auto path = std::make_shared<std::string>();
  auto show = std::make_shared<int64_t>(5);
  info_cmd->add_option("FILE", *path, "dataset (.h5)")->required()->check(CLI::ExistingFile);
  info_cmd->add_option("--show", *show, "videos listed with their captions")->capture_default_str();
  info_cmd->callback([path, show] {
    const data::ClipDataset dataset(*path);
    fmt::print("{}", data::describe(dataset, *show));
  });
}

}  // namespace trip::cli
