// defines: the HDF5 helpers shared by the clip dataset's reader (dataset.cpp) and writer
// (dataset_writer.cpp): the process-wide HDF5 lock, file access settings, fixed-length string and
// scalar attributes, and Reader, which reads attributes with checks that name the file.
// Internal to data/: not part of the API.
#pragma once
#include <algorithm>
#include <mutex>
#include <string>

#include "nn/io/hdf5_util.h"  // header-only RAII and error helpers over the C API (no nn/ code)

namespace trip::data::detail {

using nn::h5::check;
using nn::h5::Handle;

using nn::h5::check;
using nn::h5::Handle;

// One lock for every HDF5 call of data/: the library may be built without thread safety, and the
// loader's prefetch threads share one open file.
inline std::recursive_mutex& h5_mutex() {
  static std::recursive_mutex m;
  return m;
}

inline Handle type_handle(hid_t id) { return Handle(id, H5Tclose); }

inline Handle file_access() {
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  // Formats from 1.8 on checksum their metadata, so corruption is detected rather than parsed.
  H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
  H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
  return fapl;
}

// Fixed-length UTF-8 strings, as nn/io/checkpoint.cpp writes them: variable-length strings live
// in the unchecksummed global heap, and reading a corrupted one can crash libhdf5.
inline void write_string_attr(hid_t obj, const char* name, const std::string& value,
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
inline void write_scalar_attr(hid_t obj, const char* name, hid_t type, T value,
                              const std::string& where) {
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

inline std::string video_name(int64_t index) { return std::to_string(index); }

}  // namespace trip::data::detail
