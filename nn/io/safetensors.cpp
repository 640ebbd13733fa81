#include "nn/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "nn/io/atomic_file.h"

namespace trip::nn {

// Tensor bytes are copied verbatim: the format is little-endian and so is every host we build for.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes little-endian");

namespace {

using json = nlohmann::json;

// The reference implementation's limit: a larger header is treated as malicious.
constexpr uint64_t kMaxHeader = 100'000'000;

struct DTypeName {
  const char* name;
  DType dtype;
};
constexpr DTypeName kDTypes[] = {
    {"F32", DType::f32}, {"F16", DType::f16}, {"BF16", DType::bf16}, {"F64", DType::f64},
    {"I64", DType::i64}, {"I32", DType::i32}, {"U8", DType::u8},     {"BOOL", DType::boolean}};

const char* safetensors_name(DType t) {
  for (const auto& d : kDTypes)
    if (d.dtype == t) return d.name;
  fail("safetensors: no name for dtype {}", t);
}

struct Entry {
  std::string name;
  DType dtype;
  Dims shape;
  uint64_t begin, end;
};

// nlohmann keeps the last of duplicate keys silently; the reference parser rejects them (for
// tensor names that would mean two tensors claiming one name), so track the keys of every object.
json parse_header(std::string_view text, const std::string& what) {
  std::vector<std::set<std::string>> keys;
  auto check_duplicates = [&](int depth, json::parse_event_t event, json& parsed) {
    // serde_json (the reference) stops at 128 levels; a valid header needs 3.
    if (depth > 128) fail("safetensors {}: header JSON is nested deeper than 128 levels", what);
    if (event == json::parse_event_t::object_start) keys.emplace_back();
    if (event == json::parse_event_t::object_end) keys.pop_back();
    if (event == json::parse_event_t::key && !keys.back().insert(parsed.get<std::string>()).second)
      fail("safetensors {}: duplicate key '{}' in the header", what, parsed.get<std::string>());
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), check_duplicates);
  } catch (const json::exception& e) {
    fail("safetensors {}: header is not valid JSON: {}", what, e.what());
  }
}

uint64_t unsigned_of(const json& v, const std::string& what, const std::string& name,
                     const char* field) {
  if (!v.is_number_unsigned())
    fail("safetensors {}: tensor '{}': {} must hold non-negative integers, got {}", what, name,
         field, v.dump());
  return v.get<uint64_t>();
}

Entry parse_entry(const std::string& name, const json& info, const std::string& what) {
  if (!info.is_object())
    fail("safetensors {}: tensor '{}': expected an object, got {}", what, name, info.type_name());
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!info.contains(field))
      fail("safetensors {}: tensor '{}': missing field '{}'", what, name, field);
  const json& dt = info["dtype"];
  if (!dt.is_string()) fail("safetensors {}: tensor '{}': dtype must be a string", what, name);
  Entry e{name, DType::f32, {}, 0, 0};
  auto known = std::find_if(std::begin(kDTypes), std::end(kDTypes),
                            [&](const DTypeName& d) { return dt.get<std::string>() == d.name; });
  if (known == std::end(kDTypes))
    fail("safetensors {}: tensor '{}': unknown or unsupported dtype '{}'", what, name,
         dt.get<std::string>());
  e.dtype = known->dtype;
  const json& shape = info["shape"];
  if (!shape.is_array()) fail("safetensors {}: tensor '{}': shape must be an array", what, name);
  if (shape.size() > size_t(kMaxDims))
    fail("safetensors {}: tensor '{}' has {} dims, more than the {} supported", what, name,
         shape.size(), kMaxDims);
  uint64_t numel = 1;
  for (const json& d : shape) {
    uint64_t extent = unsigned_of(d, what, name, "shape");
    if (extent > uint64_t(INT64_MAX) || __builtin_mul_overflow(numel, extent, &numel))
      fail("safetensors {}: tensor '{}': element count overflows", what, name);
    e.shape.push_back(int64_t(extent));
  }
  const json& off = info["data_offsets"];
  if (!off.is_array() || off.size() != 2)
    fail("safetensors {}: tensor '{}': data_offsets must be [begin, end]", what, name);
  e.begin = unsigned_of(off[0], what, name, "data_offsets");
  e.end = unsigned_of(off[1], what, name, "data_offsets");
  if (e.end < e.begin)
    fail("safetensors {}: tensor '{}': data_offsets [{}, {}] end before they begin", what, name,
         e.begin, e.end);
  uint64_t nbytes;
  if (__builtin_mul_overflow(numel, uint64_t(element_size(e.dtype)), &nbytes) ||
      nbytes != e.end - e.begin)
    fail(
        "safetensors {}: tensor '{}': shape {} of {} needs {} elements but data_offsets [{}, {}] "
        "span {} bytes",
        what, name, e.shape, dt.get<std::string>(), numel, e.begin, e.end, e.end - e.begin);
  return e;
}

// Everything a file's header says, checked against its size and bytes.
struct Layout {
  std::vector<Entry> entries;  // sorted by data_offsets
  Metadata metadata;
  size_t data_start = 0;  // 8 + header length
};

// Every check of the format, run before any tensor exists: a file is accepted or rejected whole,
// and no tensor (or view into a mapping) can reach a byte outside [0, size).
Layout validate(const unsigned char* bytes, size_t size, const std::string& what) {
  if (size < 8)
    fail("safetensors {}: {} bytes is too short for the 8-byte header length", what, size);
  uint64_t n;
  std::memcpy(&n, bytes, 8);
  if (n > kMaxHeader)
    fail("safetensors {}: header length {} exceeds the limit of {} bytes", what, n, kMaxHeader);
  if (n > size - 8)
    fail("safetensors {}: header length {} runs past the end of the file ({} bytes)", what, n,
         size);
  std::string_view text(reinterpret_cast<const char*>(bytes + 8), n);
  // The reference insists on an object from the first byte (no leading whitespace).
  if (text.empty() || text[0] != '{') fail("safetensors {}: header does not start with '{{'", what);
  json header = parse_header(text, what);
  if (!header.is_object())
    fail("safetensors {}: header must be a JSON object, got {}", what, header.type_name());

  Layout out;
  out.data_start = 8 + n;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (value.is_null()) continue;
      if (!value.is_object()) fail("safetensors {}: __metadata__ must be an object", what);
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string())
          fail("safetensors {}: metadata value of '{}' must be a string, got {}", what, mk,
               mv.type_name());
        out.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    out.entries.push_back(parse_entry(key, value, what));
  }
  // The data section must be tiled exactly: sorted by offsets, each tensor starts where the
  // previous ended, the first at 0 and the last at the end of the file. This rules out overlaps
  // (aliasing), holes (hidden payloads) and anything past the end.
  std::sort(out.entries.begin(), out.entries.end(), [](const Entry& a, const Entry& b) {
    return std::pair(a.begin, a.end) < std::pair(b.begin, b.end);
  });
  uint64_t data_size = size - 8 - n, expected = 0;
  for (const Entry& e : out.entries) {
    if (e.begin != expected)
      fail("safetensors {}: tensor '{}' data_offsets [{}, {}] {} (expected it to begin at {})",
           what, e.name, e.begin, e.end,
           e.begin < expected ? "overlap the previous tensor" : "leave a hole", expected);
    if (e.end > data_size)
      fail(
          "safetensors {}: tensor '{}' data_offsets [{}, {}] run past the end of the data ({} "
          "bytes)",
          what, e.name, e.begin, e.end, data_size);
    expected = e.end;
  }
  if (expected != data_size)
    fail("safetensors {}: tensors cover {} bytes but the data section holds {}", what, expected,
         data_size);
  const unsigned char* base = bytes + out.data_start;
  for (const Entry& e : out.entries) {
    if (e.dtype != DType::boolean) continue;
    // Any other byte in a C++ bool is undefined behaviour when read.
    for (uint64_t i = e.begin; i < e.end; ++i)
      if (base[i] > 1)
        fail("safetensors {}: BOOL tensor '{}' holds byte {} (not 0 or 1)", what, e.name,
             int(base[i]));
  }
  return out;
}

// A contiguous CPU tensor for one validated entry: a view of the bytes when `owner` is given and
// the address suits the dtype, else a copy.
Tensor make_tensor(const Entry& e, unsigned char* base, const std::shared_ptr<void>& owner) {
  size_t nbytes = e.end - e.begin;
  unsigned char* p = base + e.begin;
  // The format does not align tensors: the header length is free (our writer and the reference
  // pad it to a multiple of 8, other writers need not) and a tensor begins where the previous one
  // ends, e.g. after an odd-length U8 tensor. A misaligned f32/f64/i64 access is undefined
  // behaviour in C++ (and kernels vectorise assuming natural alignment), so such a tensor is
  // copied into fresh aligned memory instead of viewed.
  bool aligned = reinterpret_cast<uintptr_t>(p) % element_size(e.dtype) == 0;
  if (owner && aligned && nbytes > 0) {
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = Storage::wrap(p, nbytes, kCPU, owner);
    impl->shape = e.shape;
    impl->strides = contiguous_strides(e.shape);
    impl->dtype = e.dtype;
    return Tensor(std::move(impl));
  }
  Tensor t = empty(e.shape, e.dtype);
  if (nbytes) std::memcpy(t.data_ptr(), p, nbytes);
  return t;
}

SafetensorsFile build(unsigned char* bytes, size_t size, const std::string& what,
                      const std::shared_ptr<void>& owner) {
  Layout layout = validate(bytes, size, what);
  SafetensorsFile out;
  out.metadata = std::move(layout.metadata);
  for (const Entry& e : layout.entries)
    out.tensors.emplace_back(e.name, make_tensor(e, bytes + layout.data_start, owner));
  return out;
}

}  // namespace

SafetensorsFile parse_safetensors(const void* data, size_t size, const std::string& what) {
  // Without an owner build() only reads the bytes (every tensor is a copy).
  return build(static_cast<unsigned char*>(const_cast<void*>(data)), size, what, nullptr);
}

SafetensorsFile parse_safetensors(void* data, size_t size, const std::string& what,
                                  std::shared_ptr<void> owner) {
  TRIP_CHECK(owner != nullptr, "parse_safetensors {}: owner of the viewed bytes is null", what);
  return build(static_cast<unsigned char*>(data), size, what, owner);
}

SafetensorsFile read_safetensors(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("safetensors {}: cannot open: {}", path, std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("safetensors {}: not a regular file", path);
  }
  size_t size = size_t(st.st_size);
  if (size < 8) {  // mmap of an empty file fails; give the format's message instead
    ::close(fd);
    fail("safetensors {}: {} bytes is too short for the 8-byte header length", path, size);
  }
  // MAP_PRIVATE with PROT_WRITE: a write into a loaded tensor (an in-place op on a weight) copies
  // that page for this process (copy-on-write) and never reaches the file, which is opened
  // read-only. Pages are read lazily, so a tensor that is never used costs no I/O.
  void* map = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  int err = errno;
  ::close(fd);  // the mapping stays valid without the descriptor
  if (map == MAP_FAILED) fail("safetensors {}: mmap failed: {}", path, std::strerror(err));
  // The views' storages share this owner: the file stays mapped until the last of them is gone
  // (right away when every tensor was copied or an error is thrown).
  std::shared_ptr<void> owner(map, [size](void* p) { ::munmap(p, size); });
  return parse_safetensors(map, size, path, std::move(owner));
}

NamedTensors load_safetensors(const std::string& path) { return read_safetensors(path).tensors; }

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const Metadata& metadata) {
  std::vector<std::pair<std::string, Tensor>> sorted;
  for (const auto& [name, t] : tensors) {
    TRIP_CHECK(t.defined(), "save_safetensors {}: tensor '{}' is undefined", path, name);
    TRIP_CHECK(name != "__metadata__", "save_safetensors {}: '__metadata__' is reserved", path);
    sorted.emplace_back(name, ops::contiguous(ops::to(t, kCPU)));
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 1; i < sorted.size(); ++i)
    TRIP_CHECK(sorted[i].first != sorted[i - 1].first,
               "save_safetensors {}: duplicate tensor name '{}'", path, sorted[i].first);
  // Data of the largest elements first (as the reference writer: by dtype, then name): with the
  // data section 8-aligned and every size a multiple of its element size, each tensor then starts
  // aligned for its dtype, so read_safetensors can view it in place instead of copying it.
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return element_size(a.second.dtype()) > element_size(b.second.dtype());
  });

  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : sorted) {
    header[name] = {{"dtype", safetensors_name(t.dtype())},
                    {"shape", t.shape().vec()},
                    {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string text = header.dump();
  // As the reference: pad with spaces so the data starts 8-byte aligned (mmap-friendly).
  text.append((8 - text.size() % 8) % 8, ' ');

  write_file_atomically(path, [&](const std::string& tmp) {
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) fail("save_safetensors {}: cannot open {}: {}", path, tmp, std::strerror(errno));
    struct Closer {
      std::FILE* f;
      ~Closer() {
        if (f) std::fclose(f);
      }
    } closer{f};
    auto put = [&](const void* p, size_t n) {
      if (n && std::fwrite(p, 1, n, f) != n)
        fail("save_safetensors {}: write to {} failed: {}", path, tmp, std::strerror(errno));
    };
    uint64_t n = text.size();
    put(&n, 8);
    put(text.data(), text.size());
    for (size_t i = 0; i < sorted.size(); ++i) {
      put(sorted[i].second.data_ptr(), sorted[i].second.nbytes());
      if (i == sorted.size() / 2) io_testing::stage("safetensors.data");
    }
    closer.f = nullptr;
    if (std::fclose(f) != 0)
      fail("save_safetensors {}: closing {} failed: {}", path, tmp, std::strerror(errno));
  });
}

}  // namespace trip::nn
