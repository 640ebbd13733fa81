// defines: DatasetWriter (declared in data/dataset.h): videos appended to a temporary HDF5 file,
// published atomically by close().
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "data/dataset.h"
#include "data/dataset_hdf5.h"

namespace trip::data {

using namespace detail;

namespace {

void fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) fail("cannot open {} to sync it: {}", path, std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) fail("fsync of {} failed: {}", path, std::strerror(err));
}

}  // namespace

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
      if (::link(s.tmp.c_str(), s.path.c_str()) == 0) {
        ::unlink(s.tmp.c_str());
      } else if (errno == EPERM || errno == EOPNOTSUPP || errno == ENOSYS) {
        // A file system without hard links: check, then rename (a small race, not a crash risk).
        struct stat st;
        TRIP_CHECK(::stat(s.path.c_str(), &st) != 0,
                   "{}: the file appeared meanwhile; pass overwrite to replace it", s.where);
        if (std::rename(s.tmp.c_str(), s.path.c_str()) != 0)
          fail("{}: rename of {} failed: {}", s.where, s.tmp, std::strerror(errno));
      } else {
        fail("{}: cannot publish {}: {}{}", s.where, s.tmp, std::strerror(errno),
             errno == EEXIST ? " (the file appeared meanwhile; pass overwrite to replace it)" : "");
      }
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

}  // namespace trip::data
