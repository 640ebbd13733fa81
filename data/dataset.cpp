#include "data/dataset.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>

#include "nn/io/hdf5_util.h"  // header-only RAII and error helpers over the C API (no nn/ code)

namespace trip::data {

namespace {

using nn::h5::check;
using nn::h5::Handle;

// One lock for every HDF5 call of data/: the library may be built without thread safety, and the
// loader's prefetch threads share one open file.
std::recursive_mutex& h5_mutex() {
  static std::recursive_mutex m;
  return m;
}

Handle type_handle(hid_t id) { return Handle(id, H5Tclose); }

Handle file_access() {
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  // Formats from 1.8 on checksum their metadata, so corruption is detected rather than parsed.
  H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
  H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
  return fapl;
}

// Fixed-length UTF-8 strings, as nn/io/checkpoint.cpp writes them: variable-length strings live
// in the unchecksummed global heap, and reading a corrupted one can crash libhdf5.
void write_string_attr(hid_t obj, const char* name, const std::string& value,
                       const std::string& where) {
  Handle type = type_handle(H5Tcopy(H5T_C_S1));
  H5Tset_size(type, std::max<size_t>(1, value.size()));
  H5Tset_strpad(type, H5T_STR_NULLPAD);
  H5Tset_cset(type, H5T_CSET_UTF8);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
  Handle attr(check(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), where,
                    std::string("cannot create attribute ") + name),
              H5Aclose);
  std::string padded = value.empty() ? std::string(1, '\0') : value;
  check(H5Awrite(attr, type, padded.data()), where, std::string("cannot write attribute ") + name);
}

template <typename T>
void write_scalar_attr(hid_t obj, const char* name, hid_t type, T value, const std::string& where) {
  if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(check(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), where,
                    std::string("cannot create attribute ") + name),
              H5Aclose);
  check(H5Awrite(attr, type, &value), where, std::string("cannot write attribute ") + name);
}

struct Reader {
  std::string where;  // "clip dataset <path>"
  hsize_t file_size = 0;

  Handle open_attr(hid_t obj, const char* name, const std::string& owner) const {
    TRIP_CHECK(check(H5Aexists(obj, name), where, owner) > 0, "{}: {} has no attribute '{}'", where,
               owner, name);
    return Handle(check(H5Aopen(obj, name, H5P_DEFAULT), where, owner + " attribute " + name),
                  H5Aclose);
  }
  template <typename T>
  T read_scalar_attr(hid_t obj, const char* name, hid_t mem_type, const std::string& owner) const {
    Handle attr = open_attr(obj, name, owner);
    Handle ftype = type_handle(check(H5Aget_type(attr), where, name));
    H5T_class_t cls = H5Tget_class(ftype);
    TRIP_CHECK(cls == H5T_INTEGER || cls == H5T_FLOAT, "{}: {} attribute '{}' is not a number",
               where, owner, name);
    Handle space(check(H5Aget_space(attr), where, name), H5Sclose);
    TRIP_CHECK(H5Sget_simple_extent_npoints(space) == 1, "{}: {} attribute '{}' is not one value",
               where, owner, name);
    T value{};
    check(H5Aread(attr, mem_type, &value), where, owner + ": cannot read attribute " + name);
    return value;
  }
  std::string read_string_attr(hid_t obj, const char* name, const std::string& owner) const {
    Handle attr = open_attr(obj, name, owner);
    Handle ftype = type_handle(check(H5Aget_type(attr), where, name));
    TRIP_CHECK(H5Tget_class(ftype) == H5T_STRING, "{}: {} attribute '{}' is not a string", where,
               owner, name);
    TRIP_CHECK(H5Tis_variable_str(ftype) == 0,
               "{}: {} attribute '{}' is a variable-length string; clip datasets use "
               "fixed-length ones",
               where, owner, name);
    Handle space(check(H5Aget_space(attr), where, name), H5Sclose);
    TRIP_CHECK(H5Sget_simple_extent_npoints(space) == 1, "{}: {} attribute '{}' is not one string",
               where, owner, name);
    size_t size = H5Tget_size(ftype);
    TRIP_CHECK(size > 0 && size <= file_size, "{}: {} attribute '{}' has a bad size {}", where,
               owner, name, size);
    Handle mem = type_handle(H5Tcopy(H5T_C_S1));
    H5Tset_cset(mem, H5Tget_cset(ftype));
    H5Tset_strpad(mem, H5T_STR_NULLPAD);  // NULLTERM would drop the last character
    H5Tset_size(mem, size);
    std::string s(size, '\0');
    check(H5Aread(attr, mem, s.data()), where, owner + ": cannot read attribute " + name);
    return s.substr(0, s.find('\0'));
  }
};

std::string video_name(int64_t index) { return std::to_string(index); }

void fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) fail("cannot open {} to sync it: {}", path, std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) fail("fsync of {} failed: {}", path, std::strerror(err));
}

}  // namespace

// ---- writer ----

struct DatasetWriter::State {
  std::string path, tmp, dir, where;
  WriterOptions options;
  Handle file, videos;
  int64_t count = 0;
  bool closed = false;
};

DatasetWriter::DatasetWriter(const std::string& path, WriterOptions options)
    : s_(std::make_unique<State>()) {
  namespace fs = std::filesystem;
  std::lock_guard lock(h5_mutex());
  nn::h5::silence();
  State& s = *s_;
  s.path = path;
  s.options = options;
  s.where = "clip dataset writer " + path;
  TRIP_CHECK(options.gzip >= 0 && options.gzip <= 9, "{}: gzip level {} is not in 0..9", s.where,
             options.gzip);
  TRIP_CHECK(options.chunk_frames > 0, "{}: chunk_frames {} must be positive", s.where,
             options.chunk_frames);
  TRIP_CHECK(options.gzip == 0 || H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0,
             "{}: this HDF5 library has no deflate filter (use gzip 0)", s.where);
  fs::path target(path);
  TRIP_CHECK(!path.empty() && !target.filename().empty(), "{}: not a file name", s.where);
  std::error_code ec;
  const bool exists = fs::exists(target, ec);
  if (options.append) {
    TRIP_CHECK(exists, "{}: cannot append: the file does not exist", s.where);
    s.count = ClipDataset(path).size();  // validates the schema before anything is copied
  } else {
    TRIP_CHECK(!exists || options.overwrite,
               "{}: the file exists (pass overwrite to replace it, or append to add to it)",
               s.where);
  }
  s.dir = target.parent_path().empty() ? "." : target.parent_path().string();
  std::string leaf = ".";
  leaf += target.filename().string();
  leaf += ".tmp.XXXXXX";
  std::string pattern = (fs::path(s.dir) / leaf).string();
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0)
    fail("{}: cannot create a temporary file in {}: {}", s.where, s.dir, std::strerror(errno));
  ::fchmod(fd, 0644);
  ::close(fd);
  s.tmp = name.data();
  try {
    Handle fapl = file_access();
    if (options.append) {
      fs::copy_file(path, s.tmp, fs::copy_options::overwrite_existing);
      s.file = Handle(check(H5Fopen(s.tmp.c_str(), H5F_ACC_RDWR, fapl), s.where,
                            "cannot open the copy " + s.tmp),
                      H5Fclose);
      s.videos = Handle(check(H5Gopen2(s.file, "videos", H5P_DEFAULT), s.where, "group /videos"),
                        H5Gclose);
    } else {
      s.file = Handle(check(H5Fcreate(s.tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), s.where,
                            "cannot create " + s.tmp),
                      H5Fclose);
      write_string_attr(s.file, "format", kClipFormat, s.where);
      write_scalar_attr(s.file, "version", H5T_NATIVE_INT64, kClipFormatVersion, s.where);
      write_scalar_attr(s.file, "count", H5T_NATIVE_INT64, int64_t(0), s.where);
      // Creation order tracked so tools that list /videos see them in the order they were added.
      Handle gcpl(check(H5Pcreate(H5P_GROUP_CREATE), s.where, "H5Pcreate"), H5Pclose);
      H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
      s.videos = Handle(check(H5Gcreate2(s.file, "videos", H5P_DEFAULT, gcpl, H5P_DEFAULT), s.where,
                              "cannot create group /videos"),
                        H5Gclose);
    }
  } catch (...) {
    s.videos = Handle();
    s.file = Handle();
    ::unlink(s.tmp.c_str());
    throw;
  }
}

DatasetWriter::~DatasetWriter() {
  if (!s_ || s_->closed) return;
  std::lock_guard lock(h5_mutex());
  s_->videos = Handle();
  s_->file = Handle();
  ::unlink(s_->tmp.c_str());
}

int64_t DatasetWriter::size() const { return s_->count; }

void DatasetWriter::append(const Video& video) {
  std::lock_guard lock(h5_mutex());
  nn::h5::silence();
  State& s = *s_;
  TRIP_CHECK(!s.closed, "{}: append after close()", s.where);
  video.validate();
  const std::string name = video_name(s.count);
  const std::string owner = "video " + name;
  Handle group(check(H5Gcreate2(s.videos, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                     s.where, "cannot create group /videos/" + name),
               H5Gclose);
  hsize_t dims[4] = {hsize_t(video.frames), hsize_t(video.height), hsize_t(video.width), 3};
  hsize_t chunk[4] = {hsize_t(std::min(s.options.chunk_frames, video.frames)), dims[1], dims[2], 3};
  Handle space(H5Screate_simple(4, dims, nullptr), H5Sclose);
  Handle dcpl(check(H5Pcreate(H5P_DATASET_CREATE), s.where, "H5Pcreate"), H5Pclose);
  check(H5Pset_chunk(dcpl, 4, chunk), s.where, owner + ": cannot set chunking");
  if (s.options.gzip > 0)
    check(H5Pset_deflate(dcpl, unsigned(s.options.gzip)), s.where, owner + ": deflate");
  // A checksum per chunk: damaged pixels become a read error instead of silently wrong frames.
  check(H5Pset_fletcher32(dcpl), s.where, owner + ": fletcher32");
  Handle dset(
      check(H5Dcreate2(group, "frames", H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
            s.where, owner + ": cannot create dataset frames"),
      H5Dclose);
  check(H5Dwrite(dset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, video.rgb.data()), s.where,
        owner + ": cannot write frames");
  write_string_attr(group, "caption", video.caption, s.where);
  write_string_attr(group, "origin", video.origin, s.where);
  write_scalar_attr(group, "fps", H5T_NATIVE_DOUBLE, video.fps, s.where);
  ++s.count;
}

void DatasetWriter::close() {
  std::lock_guard lock(h5_mutex());
  nn::h5::silence();
  State& s = *s_;
  TRIP_CHECK(!s.closed, "{}: close() called twice", s.where);
  try {
    write_scalar_attr(s.file, "count", H5T_NATIVE_INT64, s.count, s.where);
    check(H5Fflush(s.file, H5F_SCOPE_GLOBAL), s.where, "flush failed");
    s.videos = Handle();
    s.file = Handle();
    fsync_path(s.tmp, false);
    if (s.options.overwrite || s.options.append) {
      if (std::rename(s.tmp.c_str(), s.path.c_str()) != 0)
        fail("{}: rename of {} failed: {}", s.where, s.tmp, std::strerror(errno));
    } else {
      // link() fails if the name exists: a file that appeared since the writer was opened stays.
      if (::link(s.tmp.c_str(), s.path.c_str()) != 0)
        fail("{}: cannot publish {}: {}{}", s.where, s.tmp, std::strerror(errno),
             errno == EEXIST ? " (the file appeared meanwhile; pass overwrite to replace it)" : "");
      ::unlink(s.tmp.c_str());
    }
  } catch (...) {
    s.videos = Handle();
    s.file = Handle();
    ::unlink(s.tmp.c_str());
    s.closed = true;
    throw;
  }
  s.closed = true;
  fsync_path(s.dir, true);
}

// ---- reader ----

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
