// defines: ClipDataset (declared in data/dataset.h): checked reads of a clip dataset file.
#include "data/dataset.h"

#include <sys/stat.h>

#include <cstring>
#include <map>

#include "data/dataset_hdf5.h"

namespace trip::data {

using namespace detail;

struct ClipDataset::State {
  Reader r;
  std::string path;
  Handle file, videos;
  int64_t count = 0;
};

ClipDataset::ClipDataset(const std::string& path) : s_(std::make_unique<State>()) {
  std::lock_guard lock(h5_mutex());
  nn::h5::silence();
  State& s = *s_;
  s.path = path;
  Reader& r = s.r;
  r.where = "clip dataset " + path;
  struct stat st;
  TRIP_CHECK(::stat(path.c_str(), &st) == 0, "{}: no such file", r.where);
  TRIP_CHECK(S_ISREG(st.st_mode), "{}: not a regular file", r.where);
  TRIP_CHECK(H5Fis_hdf5(path.c_str()) > 0, "{}: not an HDF5 file", r.where);
  r.file_size = hsize_t(st.st_size);
  Handle fapl = file_access();
  s.file = Handle(check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl), r.where,
                        "cannot open (truncated or corrupted?)"),
                  H5Fclose);
  TRIP_CHECK(check(H5Aexists(s.file, "format"), r.where, "format") > 0,
             "{}: not a clip dataset (no 'format' attribute; expected '{}')", r.where, kClipFormat);
  const std::string format = r.read_string_attr(s.file, "format", "the file");
  TRIP_CHECK(format == kClipFormat, "{}: format '{}', expected '{}'", r.where, format, kClipFormat);
  const auto version = r.read_scalar_attr<int64_t>(s.file, "version", H5T_NATIVE_INT64, "the file");
  TRIP_CHECK(version == kClipFormatVersion, "{}: format version {}, this build reads {}", r.where,
             version, kClipFormatVersion);
  s.count = r.read_scalar_attr<int64_t>(s.file, "count", H5T_NATIVE_INT64, "the file");
  TRIP_CHECK(s.count >= 0, "{}: negative video count {}", r.where, s.count);
  TRIP_CHECK(H5Lexists(s.file, "videos", H5P_DEFAULT) > 0, "{}: missing group /videos", r.where);
  s.videos =
      Handle(check(H5Gopen2(s.file, "videos", H5P_DEFAULT), r.where, "group /videos"), H5Gclose);
  H5G_info_t ginfo;
  check(H5Gget_info(s.videos, &ginfo), r.where, "cannot list /videos");
  TRIP_CHECK(int64_t(ginfo.nlinks) == s.count, "{}: says {} videos but /videos holds {}", r.where,
             s.count, ginfo.nlinks);
}

ClipDataset::~ClipDataset() {
  if (!s_) return;
  std::lock_guard lock(h5_mutex());
  s_.reset();
}
ClipDataset::ClipDataset(ClipDataset&&) noexcept = default;
ClipDataset& ClipDataset::operator=(ClipDataset&&) noexcept = default;

const std::string& ClipDataset::path() const { return s_->path; }
int64_t ClipDataset::size() const { return s_->count; }

namespace {

struct OpenVideo {
  Handle group, frames;
  VideoInfo info;
};

OpenVideo open_video(const Reader& r, hid_t videos, int64_t count, int64_t index) {
  // HDF5's automatic error printing is per thread in thread-safe builds: the loader's threads
  // must be silenced too, or a damaged file would print HDF5's stack besides our trip::Error.
  nn::h5::silence();
  TRIP_CHECK(index >= 0 && index < count, "{}: video {} is out of range (the file has {})", r.where,
             index, count);
  const std::string name = video_name(index), owner = "video " + name;
  TRIP_CHECK(H5Lexists(videos, name.c_str(), H5P_DEFAULT) > 0, "{}: missing group /videos/{}",
             r.where, name);
  OpenVideo v;
  v.group = Handle(check(H5Gopen2(videos, name.c_str(), H5P_DEFAULT), r.where, owner), H5Gclose);
  TRIP_CHECK(H5Lexists(v.group, "frames", H5P_DEFAULT) > 0, "{}: {} has no dataset 'frames'",
             r.where, owner);
  v.frames =
      Handle(check(H5Dopen2(v.group, "frames", H5P_DEFAULT), r.where, owner + " frames"), H5Dclose);
  Handle type = type_handle(check(H5Dget_type(v.frames), r.where, owner + " frames type"));
  TRIP_CHECK(H5Tget_class(type) == H5T_INTEGER && H5Tget_size(type) == 1 &&
                 H5Tget_sign(type) == H5T_SGN_NONE,
             "{}: {} frames are not uint8", r.where, owner);
  Handle space(check(H5Dget_space(v.frames), r.where, owner + " frames space"), H5Sclose);
  TRIP_CHECK(H5Sget_simple_extent_ndims(space) == 4, "{}: {} frames must be [F, H, W, 3]", r.where,
             owner);
  hsize_t dims[4];
  check(H5Sget_simple_extent_dims(space, dims, nullptr), r.where, owner + " frames dims");
  TRIP_CHECK(dims[3] == 3 && dims[0] > 0 && dims[1] > 0 && dims[2] > 0,
             "{}: {} frames have shape [{}, {}, {}, {}], expected [F, H, W, 3] with F, H, W > 0",
             r.where, owner, dims[0], dims[1], dims[2], dims[3]);
  // A corrupted shape must not become a huge allocation: pixels are at most the file size, or
  // about 1032 times it when deflated (the best ratio deflate reaches).
  uint64_t bytes = 3;
  const bool ok = !__builtin_mul_overflow(bytes, uint64_t(dims[0]), &bytes) &&
                  !__builtin_mul_overflow(bytes, uint64_t(dims[1]), &bytes) &&
                  !__builtin_mul_overflow(bytes, uint64_t(dims[2]), &bytes);
  TRIP_CHECK(ok && bytes <= 1100 * uint64_t(r.file_size) + (1u << 20),
             "{}: {} frames of shape [{}, {}, {}, 3] are larger than the file could hold", r.where,
             owner, dims[0], dims[1], dims[2]);
  v.info.frames = int64_t(dims[0]);
  v.info.height = int64_t(dims[1]);
  v.info.width = int64_t(dims[2]);
  v.info.fps = r.read_scalar_attr<double>(v.group, "fps", H5T_NATIVE_DOUBLE, owner);
  TRIP_CHECK(v.info.fps > 0 && v.info.fps < 1e6, "{}: {} has fps {}", r.where, owner, v.info.fps);
  v.info.caption = r.read_string_attr(v.group, "caption", owner);
  v.info.origin = r.read_string_attr(v.group, "origin", owner);
  return v;
}

Video empty_video(const VideoInfo& info, int64_t frames) {
  Video v(frames, info.height, info.width, info.fps);
  v.caption = info.caption;
  v.origin = info.origin;
  return v;
}

}  // namespace

VideoInfo ClipDataset::info(int64_t index) const {
  std::lock_guard lock(h5_mutex());
  return open_video(s_->r, s_->videos, s_->count, index).info;
}

Video ClipDataset::read(int64_t index) const {
  std::lock_guard lock(h5_mutex());
  OpenVideo v = open_video(s_->r, s_->videos, s_->count, index);
  Video out = empty_video(v.info, v.info.frames);
  check(H5Dread(v.frames, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.rgb.data()),
        s_->r.where, fmt::format("video {}: cannot read frames", index));
  return out;
}

Video ClipDataset::read_frames(int64_t index, const std::vector<int64_t>& frame_indices) const {
  std::lock_guard lock(h5_mutex());
  const Reader& r = s_->r;
  OpenVideo v = open_video(r, s_->videos, s_->count, index);
  TRIP_CHECK(!frame_indices.empty(), "{}: video {}: no frames requested", r.where, index);
  for (int64_t f : frame_indices)
    TRIP_CHECK(f >= 0 && f < v.info.frames, "{}: video {}: frame {} is outside its {} frames",
               r.where, index, f, v.info.frames);
  Video out = empty_video(v.info, int64_t(frame_indices.size()));
  Handle fspace(check(H5Dget_space(v.frames), r.where, "frames space"), H5Sclose);
  hsize_t one[4] = {1, hsize_t(v.info.height), hsize_t(v.info.width), 3};
  Handle mspace(H5Screate_simple(4, one, nullptr), H5Sclose);
  // Each distinct frame is read once (a hyperslab of one frame); repeats are copied.
  std::map<int64_t, size_t> first_slot;
  for (size_t k = 0; k < frame_indices.size(); ++k) {
    const int64_t f = frame_indices[k];
    auto [it, fresh] = first_slot.emplace(f, k);
    if (!fresh) {
      std::memcpy(out.frame(int64_t(k)), out.frame(int64_t(it->second)), out.frame_bytes());
      continue;
    }
    hsize_t start[4] = {hsize_t(f), 0, 0, 0};
    check(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, nullptr, one, nullptr), r.where,
          "frame selection");
    check(H5Dread(v.frames, H5T_NATIVE_UINT8, mspace, fspace, H5P_DEFAULT, out.frame(int64_t(k))),
          r.where, fmt::format("video {}: cannot read frame {}", index, f));
  }
  return out;
}

}  // namespace trip::data
