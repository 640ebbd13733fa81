#include "nn/io/checkpoint.h"

#include <sys/stat.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <unordered_map>

#include "nn/io/atomic_file.h"
#include "nn/io/hdf5_util.h"

namespace trip::nn {

static_assert(std::endian::native == std::endian::little, "checkpoints assume little-endian");

namespace {

using h5::check;
using h5::Handle;

Handle type_handle(hid_t id) { return Handle(id, H5Tclose); }

// The HDF5 type a dtype is stored as. HDF5 has no bf16 (and 1.10 no predefined f16):
//  - f16 is an IEEE half described field by field, the same type h5py writes for float16;
//  - bf16 is stored as its raw 16 bits (u16) with the dataset attribute dtype = "bf16", because a
//    custom 8/7-bit float would not map to any NumPy type and h5py could not read it;
//  - bool is stored as u8 with dtype = "bool".
Handle file_type(DType t) {
  switch (t) {
    case DType::f32:
      return type_handle(H5Tcopy(H5T_IEEE_F32LE));
    case DType::f64:
      return type_handle(H5Tcopy(H5T_IEEE_F64LE));
    case DType::f16: {
      Handle h = type_handle(H5Tcopy(H5T_IEEE_F32LE));
      H5Tset_fields(h, 15, 10, 5, 0, 10);  // sign bit, exponent at 10 (5 bits), mantissa 10 bits
      H5Tset_size(h, 2);
      H5Tset_ebias(h, 15);
      return h;
    }
    case DType::bf16:
      return type_handle(H5Tcopy(H5T_STD_U16LE));
    case DType::i32:
      return type_handle(H5Tcopy(H5T_STD_I32LE));
    case DType::i64:
      return type_handle(H5Tcopy(H5T_STD_I64LE));
    case DType::u8:
    case DType::boolean:
      return type_handle(H5Tcopy(H5T_STD_U8LE));
  }
  fail("checkpoint: invalid dtype {}", int(t));
}

constexpr DType kAllDTypes[] = {DType::f32, DType::f64, DType::bf16, DType::f16,
                                DType::i32, DType::i64, DType::u8,   DType::boolean};

void check_name(const std::string& name, const std::string& where) {
  TRIP_CHECK(!name.empty() && name != "." && name.find('/') == std::string::npos,
             "{}: name '{}' cannot be an HDF5 dataset name (empty, '.' or contains '/')", where,
             name);
}

Handle create_group(hid_t parent, const std::string& name, const std::string& where) {
  check_name(name, where);
  // Track creation order so groups and parameters load back in the order they were saved.
  Handle gcpl(check(H5Pcreate(H5P_GROUP_CREATE), where, "H5Pcreate"), H5Pclose);
  H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  return Handle(check(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, gcpl, H5P_DEFAULT), where,
                      "cannot create group " + name),
                H5Gclose);
}

void write_string_attr(hid_t obj, const char* name, const std::string& value,
                       const std::string& where) {
  // Fixed-length, not variable-length: variable-length strings live in HDF5's global heap, which
  // has no checksum, and reading a corrupted one crashes libhdf5 (found by tests/io_fuzz_test).
  // Large values (a long config) go to dense attribute storage, which the V18 format allows.
  Handle type = type_handle(H5Tcopy(H5T_C_S1));
  H5Tset_size(type, std::max<size_t>(1, value.size()));
  H5Tset_strpad(type, H5T_STR_NULLPAD);
  H5Tset_cset(type, H5T_CSET_UTF8);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(check(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), where,
                    std::string("cannot create attribute ") + name),
              H5Aclose);
  std::string padded = value.empty() ? std::string(1, '\0') : value;
  check(H5Awrite(attr, type, padded.data()), where, std::string("cannot write attribute ") + name);
}

template <typename T>
void write_attr(hid_t obj, const char* name, hid_t type, const T* values, hsize_t count,
                const std::string& where) {
  Handle space(count == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &count, nullptr), H5Sclose);
  Handle attr(check(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), where,
                    std::string("cannot create attribute ") + name),
              H5Aclose);
  check(H5Awrite(attr, type, values), where, std::string("cannot write attribute ") + name);
}

void write_tensor(hid_t parent, const std::string& name, const Tensor& tensor,
                  const std::string& where) {
  check_name(name, where);
  TRIP_CHECK(tensor.defined(), "{}: tensor '{}' is undefined", where, name);
  Tensor t = ops::contiguous(ops::to(tensor, kCPU));
  std::vector<hsize_t> dims(t.shape().begin(), t.shape().end());
  Handle space(
      t.dim() == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(t.dim(), dims.data(), nullptr),
      H5Sclose);
  Handle type = file_type(t.dtype());
  Handle dset(
      check(H5Dcreate2(parent, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
            where, "cannot create dataset " + name),
      H5Dclose);
  if (t.numel() > 0)
    check(H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data_ptr()), where,
          "cannot write dataset " + name);
  write_string_attr(dset, "dtype", std::string(dtype_name(t.dtype())), where);
}

// ---- reading ----

struct Reader {
  std::string where;  // "checkpoint <path>"
  hsize_t file_size = 0;

  bool has_attr(hid_t obj, const char* name) const {
    return check(H5Aexists(obj, name), where, std::string("checking attribute ") + name) > 0;
  }
  Handle open_attr(hid_t obj, const char* name) const {
    TRIP_CHECK(has_attr(obj, name), "{}: missing attribute '{}'", where, name);
    return Handle(check(H5Aopen(obj, name, H5P_DEFAULT), where, std::string("attribute ") + name),
                  H5Aclose);
  }
  template <typename T>
  void read_attr(hid_t obj, const char* name, hid_t mem_type, T* out, hssize_t count) const {
    Handle attr = open_attr(obj, name);
    Handle space(check(H5Aget_space(attr), where, name), H5Sclose);
    hssize_t n = check(H5Sget_simple_extent_npoints(space), where, name);
    TRIP_CHECK(n == count, "{}: attribute '{}' has {} values, expected {}", where, name, n, count);
    check(H5Aread(attr, mem_type, out), where, std::string("cannot read attribute ") + name);
  }
  std::string read_string_attr(hid_t obj, const char* name) const {
    Handle attr = open_attr(obj, name);
    Handle ftype = type_handle(check(H5Aget_type(attr), where, name));
    TRIP_CHECK(H5Tget_class(ftype) == H5T_STRING, "{}: attribute '{}' is not a string", where,
               name);
    Handle space(check(H5Aget_space(attr), where, name), H5Sclose);
    TRIP_CHECK(H5Sget_simple_extent_npoints(space) == 1, "{}: attribute '{}' is not one string",
               where, name);
    Handle mem = type_handle(H5Tcopy(H5T_C_S1));
    H5Tset_cset(mem, H5Tget_cset(ftype));
    H5Tset_strpad(mem, H5T_STR_NULLPAD);  // NULLTERM would drop the last character
    TRIP_CHECK(H5Tis_variable_str(ftype) == 0,
               "{}: attribute '{}' is a variable-length string; checkpoints use fixed-length ones",
               where, name);
    size_t size = H5Tget_size(ftype);
    TRIP_CHECK(size > 0 && size <= file_size, "{}: attribute '{}' has a bad size", where, name);
    H5Tset_size(mem, size);
    std::string s(size, '\0');
    check(H5Aread(attr, mem, s.data()), where, std::string("cannot read attribute ") + name);
    return s.substr(0, s.find('\0'));
  }

  // Child link names in creation order when the file tracks it (ours do), else by name.
  std::vector<std::string> children(hid_t group, const std::string& what) const {
    H5G_info_t info;
    check(H5Gget_info(group, &info), where, "cannot list " + what);
    TRIP_CHECK(info.nlinks <= file_size, "{}: {} claims {} entries", where, what, info.nlinks);
    Handle gcpl(check(H5Gget_create_plist(group), where, what), H5Pclose);
    unsigned flags = 0;
    H5Pget_link_creation_order(gcpl, &flags);
    H5_index_t index = (flags & H5P_CRT_ORDER_INDEXED) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
    std::vector<std::string> names;
    for (hsize_t i = 0; i < info.nlinks; ++i) {
      ssize_t len =
          check(H5Lget_name_by_idx(group, ".", index, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT),
                where, "cannot list " + what);
      std::string name(size_t(len) + 1, '\0');
      check(H5Lget_name_by_idx(group, ".", index, H5_ITER_INC, i, name.data(), name.size(),
                               H5P_DEFAULT),
            where, "cannot list " + what);
      name.resize(size_t(len));
      names.push_back(std::move(name));
    }
    return names;
  }

  Handle open_group(hid_t parent, const std::string& name) const {
    TRIP_CHECK(H5Lexists(parent, name.c_str(), H5P_DEFAULT) > 0, "{}: missing group '{}'", where,
               name);
    return Handle(check(H5Gopen2(parent, name.c_str(), H5P_DEFAULT), where, "group " + name),
                  H5Gclose);
  }

  Tensor read_tensor(hid_t parent, const std::string& name, const std::string& path) const {
    TRIP_CHECK(H5Lexists(parent, name.c_str(), H5P_DEFAULT) > 0, "{}: missing dataset '{}'", where,
               path);
    Handle dset(check(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), where, "dataset " + path),
                H5Dclose);
    Handle stored = type_handle(check(H5Dget_type(dset), where, "type of " + path));
    // The dtype attribute says what the bits mean (bf16 and bool need it); without it (a file
    // written by other tools) the first dtype whose HDF5 type matches is taken.
    std::string dname = has_attr(dset, "dtype") ? read_string_attr(dset, "dtype") : "";
    DType dtype = DType::f32;
    bool found = false;
    for (DType d : kAllDTypes) {
      if (dname.empty() ? H5Tequal(stored, file_type(d)) > 0 : dname == dtype_name(d)) {
        dtype = d;
        found = true;
        break;
      }
    }
    TRIP_CHECK(found, "{}: dataset {} has an unsupported dtype '{}'", where, path,
               dname.empty() ? "(HDF5 type not recognised)" : dname);
    Handle expected = file_type(dtype);
    TRIP_CHECK(H5Tequal(stored, expected) > 0,
               "{}: dataset {} says dtype {} but its HDF5 type does not match", where, path, dname);
    Handle space(check(H5Dget_space(dset), where, "dataspace of " + path), H5Sclose);
    H5S_class_t cls = H5Sget_simple_extent_type(space);
    Dims shape;
    if (cls == H5S_SIMPLE) {
      int rank = check(H5Sget_simple_extent_ndims(space), where, "rank of " + path);
      TRIP_CHECK(rank <= kMaxDims, "{}: dataset {} has {} dims, more than {}", where, path, rank,
                 kMaxDims);
      hsize_t dims[H5S_MAX_RANK];
      check(H5Sget_simple_extent_dims(space, dims, nullptr), where, "dims of " + path);
      for (int i = 0; i < rank; ++i) shape.push_back(int64_t(dims[i]));
    } else {
      TRIP_CHECK(cls == H5S_SCALAR, "{}: dataset {} has no dataspace", where, path);
    }
    // A corrupted size must not turn into a huge allocation: our datasets are stored
    // uncompressed, so no tensor can be larger than the file.
    uint64_t bytes = element_size(dtype);
    for (int64_t d : shape)
      TRIP_CHECK(
          d >= 0 && !__builtin_mul_overflow(bytes, uint64_t(d), &bytes) && bytes <= file_size,
          "{}: dataset {} of shape {} is larger than the file", where, path, shape);
    Tensor t = empty(shape, dtype);
    if (t.numel() > 0)
      check(H5Dread(dset, expected, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data_ptr()), where,
            "cannot read dataset " + path);
    if (dtype == DType::boolean) {
      const auto* b = static_cast<const uint8_t*>(t.data_ptr());
      for (int64_t i = 0; i < t.numel(); ++i)
        TRIP_CHECK(b[i] <= 1, "{}: bool dataset {} holds {}", where, path, int(b[i]));
    }
    return t;
  }
};

Handle file_access() {
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  // Formats from 1.8 on checksum their metadata, so corruption is detected rather than parsed.
  H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
  // Close the file for real even if some object were left open, before it is fsynced and renamed.
  H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
  return fapl;
}

}  // namespace

void save_checkpoint(const std::string& path, const TrainingState& state) {
  h5::silence();
  std::string where = "save_checkpoint " + path;
  write_file_atomically(path, [&](const std::string& tmp) {
    Handle fapl = file_access();
    Handle file(check(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), where,
                      "cannot create " + tmp),
                H5Fclose);
    int64_t version = kCheckpointFormatVersion;
    write_attr(file, "format_version", H5T_NATIVE_INT64, &version, 1, where);
    write_attr(file, "step", H5T_NATIVE_INT64, &state.step, 1, where);
    write_string_attr(file, "config", state.config_json, where);
    write_attr(file, "rng_seed", H5T_NATIVE_UINT64, &state.rng.seed, 1, where);
    write_attr(file, "rng_offset", H5T_NATIVE_UINT64, &state.rng.offset, 1, where);
    {
      Handle model = create_group(file, "model", where);
      for (const auto& [name, t] : state.model) write_tensor(model, name, t, where);
    }
    io_testing::stage("checkpoint.model");
    Handle optimizer = create_group(file, "optimizer", where);
    for (const GroupState& g : state.optimizer) {
      Handle group = create_group(optimizer, g.name, where);
      double betas[2] = {g.beta1, g.beta2};
      write_attr(group, "lr", H5T_NATIVE_DOUBLE, &g.lr, 1, where);
      write_attr(group, "betas", H5T_NATIVE_DOUBLE, betas, 2, where);
      write_attr(group, "eps", H5T_NATIVE_DOUBLE, &g.eps, 1, where);
      write_attr(group, "weight_decay", H5T_NATIVE_DOUBLE, &g.weight_decay, 1, where);
      for (const ParamState& p : g.params) {
        Handle param = create_group(group, p.name, where);
        write_attr(param, "step", H5T_NATIVE_INT64, &p.step, 1, where);
        // A parameter the optimizer has not stepped yet has no moments: no datasets.
        if (p.exp_avg.defined()) write_tensor(param, "exp_avg", p.exp_avg, where);
        if (p.exp_avg_sq.defined()) write_tensor(param, "exp_avg_sq", p.exp_avg_sq, where);
      }
    }
    if (!state.ema.empty()) {
      Handle ema = create_group(file, "ema", where);
      write_attr(ema, "updates", H5T_NATIVE_INT64, &state.ema_updates, 1, where);
      for (const auto& [name, t] : state.ema) write_tensor(ema, name, t, where);
    }
    check(H5Fflush(file, H5F_SCOPE_GLOBAL), where, "flush failed");
  });
}

TrainingState load_checkpoint(const std::string& path) {
  h5::silence();
  Reader r{"checkpoint " + path};
  struct stat st;
  TRIP_CHECK(::stat(path.c_str(), &st) == 0, "{}: no such file", r.where);
  TRIP_CHECK(S_ISREG(st.st_mode), "{}: not a regular file", r.where);
  TRIP_CHECK(H5Fis_hdf5(path.c_str()) > 0, "{}: not an HDF5 file", r.where);
  r.file_size = hsize_t(st.st_size);
  Handle fapl = file_access();
  Handle file(check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl), r.where,
                    "cannot open (truncated or corrupted?)"),
              H5Fclose);
  TrainingState s;
  int64_t version = 0;
  r.read_attr(file, "format_version", H5T_NATIVE_INT64, &version, 1);
  TRIP_CHECK(version == kCheckpointFormatVersion, "{}: format version {}, this build reads {}",
             r.where, version, kCheckpointFormatVersion);
  r.read_attr(file, "step", H5T_NATIVE_INT64, &s.step, 1);
  s.config_json = r.read_string_attr(file, "config");
  r.read_attr(file, "rng_seed", H5T_NATIVE_UINT64, &s.rng.seed, 1);
  r.read_attr(file, "rng_offset", H5T_NATIVE_UINT64, &s.rng.offset, 1);
  Handle model = r.open_group(file, "model");
  for (const std::string& name : r.children(model, "/model"))
    s.model.emplace_back(name, r.read_tensor(model, name, "/model/" + name));
  Handle optimizer = r.open_group(file, "optimizer");
  for (const std::string& gname : r.children(optimizer, "/optimizer")) {
    GroupState g;
    g.name = gname;
    Handle group = r.open_group(optimizer, gname);
    double betas[2];
    r.read_attr(group, "lr", H5T_NATIVE_DOUBLE, &g.lr, 1);
    r.read_attr(group, "betas", H5T_NATIVE_DOUBLE, betas, 2);
    g.beta1 = betas[0];
    g.beta2 = betas[1];
    r.read_attr(group, "eps", H5T_NATIVE_DOUBLE, &g.eps, 1);
    r.read_attr(group, "weight_decay", H5T_NATIVE_DOUBLE, &g.weight_decay, 1);
    std::string gpath = "/optimizer/" + gname;
    for (const std::string& pname : r.children(group, gpath)) {
      ParamState p;
      p.name = pname;
      Handle param = r.open_group(group, pname);
      r.read_attr(param, "step", H5T_NATIVE_INT64, &p.step, 1);
      std::string ppath = gpath + "/" + pname;
      if (H5Lexists(param, "exp_avg", H5P_DEFAULT) > 0)
        p.exp_avg = r.read_tensor(param, "exp_avg", ppath + "/exp_avg");
      if (H5Lexists(param, "exp_avg_sq", H5P_DEFAULT) > 0)
        p.exp_avg_sq = r.read_tensor(param, "exp_avg_sq", ppath + "/exp_avg_sq");
      g.params.push_back(std::move(p));
    }
    s.optimizer.push_back(std::move(g));
  }
  if (H5Lexists(file, "ema", H5P_DEFAULT) > 0) {  // optional: runs without EMA have none
    Handle ema = r.open_group(file, "ema");
    r.read_attr(ema, "updates", H5T_NATIVE_INT64, &s.ema_updates, 1);
    for (const std::string& name : r.children(ema, "/ema"))
      s.ema.emplace_back(name, r.read_tensor(ema, name, "/ema/" + name));
  }
  return s;
}

}  // namespace trip::nn
