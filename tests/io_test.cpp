// Tests of nn/io/: safetensors and HDF5 checkpoint round trips (bit-exact for every dtype, 0-d and
// empty tensors), atomic writes under a simulated crash, every rejected safetensors file with its
// message, memory-mapped reading (views, copy-on-write, lifetime, misaligned tensors), load_into
// reports and restore_checkpoint checks.
#include <doctest/doctest.h>
#include <hdf5.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>

#include "nn/io/atomic_file.h"
#include "nn/io/checkpoint.h"
#include "nn/io/safetensors.h"
#include "nn/linear.h"

using namespace trip;
using namespace trip::nn;
namespace fs = std::filesystem;

namespace {

// A fresh folder under /tmp, removed with everything in it at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    char name[] = "/tmp/trip_io_test.XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    path = name;
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& file) const { return (path / file).string(); }
  size_t entries() const { return std::distance(fs::directory_iterator(path), {}); }
};

// Random bit patterns (NaN payloads, denormals, ...) so a round trip must copy bits, not values.
Tensor random_bits(const Dims& shape, DType dtype, uint64_t seed) {
  Tensor t = empty(shape, dtype);
  std::mt19937_64 rng(seed);
  auto* p = static_cast<uint8_t*>(t.data_ptr());
  for (size_t i = 0; i < t.nbytes(); ++i) p[i] = dtype == DType::boolean ? rng() & 1 : rng();
  return t;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  if (!a.defined() || !b.defined()) return a.defined() == b.defined();
  if (a.dtype() != b.dtype() || !(a.shape() == b.shape())) return false;
  Tensor ca = ops::contiguous(a), cb = ops::contiguous(b);
  return a.nbytes() == 0 || std::memcmp(ca.data_ptr(), cb.data_ptr(), a.nbytes()) == 0;
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Every dtype, a 0-d and an empty tensor.
NamedTensors sample_tensors() {
  NamedTensors ts;
  const DType all[] = {DType::f32, DType::f64, DType::bf16, DType::f16,
                       DType::i32, DType::i64, DType::u8,   DType::boolean};
  uint64_t seed = 1;
  for (DType d : all)
    ts.emplace_back(fmt::format("blocks.{}.weight", dtype_name(d)), random_bits({3, 5}, d, seed++));
  ts.emplace_back("scalar", random_bits({}, DType::f32, 99));
  ts.emplace_back("empty", random_bits({0, 4}, DType::f16, 100));
  return ts;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), bytes.size());
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A raw safetensors file: length prefix (the header's unless given), header, data bytes.
std::string raw_safetensors(const std::string& header, size_t data_bytes, int64_t length = -1) {
  uint64_t n = length < 0 ? header.size() : uint64_t(length);
  std::string s(8, '\0');
  std::memcpy(s.data(), &n, 8);
  return s + header + std::string(data_bytes, '\0');
}

// With TRIP_KEEP_CHECKPOINT=<prefix>, the round-trip checkpoint is kept as <prefix>.h5 next to
// <prefix>.expected.json, what the writer was given (dtypes, shapes, raw bytes in hex, attributes),
// for scripts/check_checkpoint_h5py.py to compare with what h5py reads.
void keep_for_h5py(const std::string& h5, const TrainingState& s) {
  const char* prefix = std::getenv("TRIP_KEEP_CHECKPOINT");
  if (!prefix) return;
  auto tensor_json = [](const Tensor& t) -> nlohmann::json {
    if (!t.defined()) return nullptr;
    Tensor c = ops::contiguous(t);
    std::string hex;
    const auto* p = static_cast<const uint8_t*>(c.data_ptr());
    for (size_t i = 0; i < c.nbytes(); ++i) hex += fmt::format("{:02x}", p[i]);
    return {{"dtype", dtype_name(t.dtype())}, {"shape", t.shape().vec()}, {"hex", hex}};
  };
  nlohmann::json j = {{"format_version", kCheckpointFormatVersion},
                      {"step", s.step},
                      {"config", s.config_json},
                      {"rng_seed", s.rng.seed},
                      {"rng_offset", s.rng.offset}};
  j["model"] = nlohmann::json::array();
  for (const auto& [name, t] : s.model)
    j["model"].push_back({{"name", name}, {"tensor", tensor_json(t)}});
  j["optimizer"] = nlohmann::json::array();
  for (const GroupState& g : s.optimizer) {
    nlohmann::json params = nlohmann::json::array();
    for (const ParamState& p : g.params)
      params.push_back({{"name", p.name},
                        {"step", p.step},
                        {"exp_avg", tensor_json(p.exp_avg)},
                        {"exp_avg_sq", tensor_json(p.exp_avg_sq)}});
    j["optimizer"].push_back({{"name", g.name},
                              {"lr", g.lr},
                              {"betas", {g.beta1, g.beta2}},
                              {"eps", g.eps},
                              {"weight_decay", g.weight_decay},
                              {"params", params}});
  }
  fs::copy_file(h5, std::string(prefix) + ".h5", fs::copy_options::overwrite_existing);
  std::ofstream(std::string(prefix) + ".expected.json") << j.dump(1);
  MESSAGE("kept ", prefix, ".h5 and ", prefix, ".expected.json");
}

struct FaultHook {  // installs a throwing hook for one stage, removes it at scope exit
  explicit FaultHook(std::string stage) {
    io_testing::fault_hook = [stage](std::string_view s) {
      if (s == stage) throw std::runtime_error("simulated crash");
    };
  }
  ~FaultHook() { io_testing::fault_hook = nullptr; }
};

const Tensor& find(const NamedTensors& ts, const std::string& name) {
  for (const auto& [n, t] : ts)
    if (n == name) return t;
  FAIL("no tensor " << name);
  throw;
}

}  // namespace

TEST_CASE("safetensors: bit-exact round trip of every dtype, 0-d and empty tensors, metadata") {
  TempDir dir;
  NamedTensors ts = sample_tensors();
  ts.emplace_back("transposed", ops::transpose(random_bits({2, 3}, DType::f32, 7), 0, 1));
  save_safetensors(dir / "a.safetensors", ts, {{"format", "pt"}, {"note", "ü"}});
  SafetensorsFile f = read_safetensors(dir / "a.safetensors");
  CHECK(f.metadata == Metadata{{"format", "pt"}, {"note", "ü"}});
  REQUIRE(f.tensors.size() == ts.size());
  for (const auto& [name, t] : ts) CHECK_MESSAGE(same_bits(find(f.tensors, name), t), name);
  // Header padded with spaces to a multiple of 8 so the data is aligned.
  std::string bytes = read_bytes(dir / "a.safetensors");
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  CHECK(n % 8 == 0);
  CHECK(bytes[8] == '{');
  CHECK(dir.entries() == 1);
  CHECK(error_of([&] {
          save_safetensors(dir / "b", {{"x", Tensor()}});
        }).find("undefined") != std::string::npos);
  CHECK(error_of([&] {
          save_safetensors(dir / "b", {{"x", ops::zeros({1})}, {"x", ops::zeros({1})}});
        }).find("duplicate tensor name 'x'") != std::string::npos);
}

TEST_CASE("safetensors: every malformed file is rejected with a message naming file and problem") {
  TempDir dir;
  std::string path = dir / "bad.safetensors";
  auto load_error = [&](const std::string& bytes) {
    write_bytes(path, bytes);
    std::string e = error_of([&] { load_safetensors(path); });
    CHECK_MESSAGE(e.find(path) != std::string::npos, e);
    return e;
  };
  auto one = [](const std::string& dtype, const std::string& shape, const std::string& offsets) {
    return R"({"t":{"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":)" +
           offsets + "}}";
  };
  struct Case {
    std::string bytes, message;
  };
  const Case cases[] = {
      {"abc", "too short"},
      {raw_safetensors("{}", 0, 100'000'001), "exceeds the limit"},
      {raw_safetensors("{}", 0, 50), "runs past the end"},
      {raw_safetensors("{not json}", 0), "not valid JSON"},
      {raw_safetensors("[1,2]", 0), "does not start with '{'"},
      {raw_safetensors(R"({"t":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", 1),
       "unknown or unsupported dtype 'F8_E4M3'"},
      {raw_safetensors(one("F32", "[2]", "[0,4]"), 4), "needs 2 elements"},
      {raw_safetensors(one("F32", "[-1]", "[0,4]"), 4), "non-negative integers"},
      {raw_safetensors(one("F32", "[1.5]", "[0,4]"), 4), "non-negative integers"},
      {raw_safetensors(one("F32", "\"2\"", "[0,8]"), 8), "shape must be an array"},
      {raw_safetensors(one("F32", "[1]", "[4,0]"), 4), "end before they begin"},
      {raw_safetensors(one("F32", "[1]", "[0,4,8]"), 8), "data_offsets must be [begin, end]"},
      {raw_safetensors(one("F32", "[1]", "[4,8]"), 8), "leave a hole"},
      {raw_safetensors(one("F32", "[1]", "[0,4]"), 8), "data section holds 8"},
      {raw_safetensors(one("F32", "[2]", "[0,8]"), 4), "run past the end of the data"},
      {raw_safetensors(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                       R"("b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})",
                       3),
       "overlap the previous tensor"},
      {raw_safetensors(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                       R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                       2),
       "duplicate key 'a'"},
      {raw_safetensors(R"({"__metadata__":{"k":1}})", 0), "metadata value of 'k' must be a string"},
      {raw_safetensors(R"({"__metadata__":[]})", 0), "__metadata__ must be an object"},
      {raw_safetensors(R"({"t":{"dtype":"U8","shape":[1]}})", 1), "missing field 'data_offsets'"},
      {raw_safetensors(R"({"t":7})", 0), "expected an object"},
      {raw_safetensors(one("BOOL", "[1]", "[0,1]"), 0) + "\x02", "not 0 or 1"},
      {raw_safetensors(one("U8", "[1,1,1,1,1,1,1,1,1]", "[0,1]"), 1), "more than the 8"},
      {raw_safetensors(one("U8", "[4294967296,4294967296]", "[0,1]"), 1), "overflows"},
  };
  for (const Case& c : cases) {
    std::string e = load_error(c.bytes);
    CHECK_MESSAGE(e.find(c.message) != std::string::npos, "expected '", c.message, "', got ", e);
  }
  CHECK(error_of([&] { load_safetensors(dir / "missing"); }).find("cannot open") !=
        std::string::npos);
  // Accepted as the reference does: an empty file of tensors, null metadata, 0-byte tensors.
  write_bytes(path, raw_safetensors(R"({"__metadata__":null,"e":{"dtype":"F32","shape":[0],)"
                                    R"("data_offsets":[0,0]}})",
                                    0));
  CHECK(load_safetensors(path).size() == 1);
}

TEST_CASE("atomic writes: a crash mid-write keeps the old file and leaves no temporary file") {
  TempDir dir;
  std::string st = dir / "m.safetensors", ck = dir / "c.h5";
  NamedTensors old_ts = sample_tensors();
  save_safetensors(st, old_ts);
  TrainingState state;
  state.model = old_ts;
  state.step = 5;
  save_checkpoint(ck, state);
  std::string old_st = read_bytes(st), old_ck = read_bytes(ck);
  NamedTensors other = {{"x", ops::ones({64})}, {"y", ops::ones({64})}, {"z", ops::ones({3})}};
  TrainingState other_state;
  other_state.model = other;
  for (const char* stage : {"safetensors.data", "atomic.before_rename"}) {
    FaultHook hook(stage);
    CHECK_THROWS_WITH(save_safetensors(st, other), "simulated crash");
  }
  for (const char* stage : {"checkpoint.model", "atomic.before_rename"}) {
    FaultHook hook(stage);
    CHECK_THROWS_WITH(save_checkpoint(ck, other_state), "simulated crash");
  }
  CHECK(read_bytes(st) == old_st);
  CHECK(read_bytes(ck) == old_ck);
  CHECK(dir.entries() == 2);  // no stray temporaries
  CHECK(load_checkpoint(ck).step == 5);
  // A folder that does not exist fails before anything is written.
  CHECK(error_of([&] {
          save_safetensors(dir / "no/such/dir/x", other);
        }).find("cannot create a temporary file") != std::string::npos);
}

TEST_CASE("load_into: strict and non-strict reports, renames, dtype conversion") {
  NamedTensors source = {{"model.a", ops::full({2}, 1.5, DType::f64)},
                         {"model.b", ops::ones({3})},
                         {"model.extra", ops::ones({1})}};
  Tensor a = ops::zeros({2}, DType::bf16), b = ops::zeros({4}), c = ops::zeros({1});
  NamedTensors targets = {{"a", a}, {"b", b}, {"c", c}};
  auto strip = [](const std::string& n) { return n.substr(6); };
  std::string e = error_of([&] { load_into(source, targets, strip); });
  CHECK(e.find("missing (no source tensor): c") != std::string::npos);
  CHECK(e.find("unexpected (no such target): extra") != std::string::npos);
  CHECK(e.find("b: source shape [3] vs target [4]") != std::string::npos);
  CHECK(a.to_vector<float>() == std::vector<float>{0, 0});  // strict failure copies nothing
  LoadIntoReport r = load_into(source, targets, strip, /*strict=*/false);
  CHECK(r.loaded == 1);
  CHECK(r.missing == std::vector<std::string>{"b", "c"});
  CHECK(r.unexpected == std::vector<std::string>{"extra"});
  CHECK(r.mismatched.size() == 1);
  CHECK(a.to_vector<float>() == std::vector<float>{1.5f, 1.5f});  // f64 -> bf16 via copy_
  // Renaming to "" drops a tensor; everything matching makes a strict load succeed.
  auto only_a = [](const std::string& n) { return n == "model.a" ? std::string("a") : ""; };
  CHECK(load_into(source, {{"a", a}}, only_a).ok());
}

TEST_CASE("checkpoint: bit-exact round trip of model, optimizer and run state") {
  TempDir dir;
  TrainingState s;
  s.model = sample_tensors();
  s.step = 1234;
  // Long enough to need HDF5's dense attribute storage (over 64 KiB).
  s.config_json = R"({"lr": 1e-4, "note": ")" + std::string(100000, 'x') + "\"}";
  s.rng = {42, 977};
  GroupState g{"unet", 1e-4, 0.9, 0.99, 1e-6, 0.05, {}};
  g.params.push_back(
      {"z.weight", random_bits({3}, DType::f32, 5), random_bits({3}, DType::f32, 6), 7});
  g.params.push_back(
      {"a.bias", random_bits({}, DType::bf16, 8), random_bits({}, DType::bf16, 9), 3});
  g.params.push_back({"fresh", Tensor(), Tensor(), 0});
  s.optimizer = {g, GroupState{"tnf", 2e-4, 0.8, 0.9, 1e-8, 0.0, {}}};
  save_checkpoint(dir / "c.h5", s);
  keep_for_h5py(dir / "c.h5", s);
  TrainingState l = load_checkpoint(dir / "c.h5");
  CHECK(l.step == 1234);
  CHECK(l.config_json == s.config_json);
  CHECK((l.rng.seed == 42 && l.rng.offset == 977));
  REQUIRE(l.model.size() == s.model.size());
  for (size_t i = 0; i < s.model.size(); ++i) {
    CHECK(l.model[i].first == s.model[i].first);  // saved order is kept
    CHECK_MESSAGE(same_bits(l.model[i].second, s.model[i].second), s.model[i].first);
  }
  REQUIRE(l.optimizer.size() == 2);
  CHECK(l.optimizer[0].name == "unet");
  CHECK(l.optimizer[1].name == "tnf");
  const GroupState& lg = l.optimizer[0];
  CHECK((lg.lr == g.lr && lg.beta1 == 0.9 && lg.beta2 == 0.99 && lg.eps == 1e-6 &&
         lg.weight_decay == 0.05));
  REQUIRE(lg.params.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(lg.params[i].name == g.params[i].name);
    CHECK(lg.params[i].step == g.params[i].step);
    CHECK(same_bits(lg.params[i].exp_avg, g.params[i].exp_avg));
    CHECK(same_bits(lg.params[i].exp_avg_sq, g.params[i].exp_avg_sq));
  }
  {  // The layout h5py shows: plain paths, each dotted name one link, f16 a 2-byte float.
    hid_t f = H5Fopen((dir / "c.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    for (const char* p : {"/model/blocks.f16.weight", "/optimizer/unet/z.weight/exp_avg",
                          "/optimizer/unet/a.bias/exp_avg_sq", "/optimizer/tnf"})
      CHECK_MESSAGE(H5Oexists_by_name(f, p, H5P_DEFAULT) > 0, p);
    for (const char* a : {"format_version", "step", "config", "rng_seed", "rng_offset"})
      CHECK_MESSAGE(H5Aexists(f, a) > 0, a);
    hid_t d = H5Dopen2(f, "/model/blocks.f16.weight", H5P_DEFAULT);
    hid_t t = H5Dget_type(d);
    CHECK((H5Tget_class(t) == H5T_FLOAT && H5Tget_size(t) == 2));
    H5Tclose(t);
    H5Dclose(d);
    H5Fclose(f);
  }
  TrainingState bad = s;
  bad.model.emplace_back("has/slash", ops::zeros({1}));
  CHECK(error_of([&] { save_checkpoint(dir / "d.h5", bad); }).find("'has/slash'") !=
        std::string::npos);
  CHECK(dir.entries() == 1);
}

TEST_CASE("checkpoint: clear errors for missing, foreign, truncated and mismatched files") {
  TempDir dir;
  TrainingState s;
  s.model = {{"w", ops::ones({4, 4})}, {"b", ops::zeros({4})}};
  s.optimizer = {GroupState{
      "all", 1e-3, 0.9, 0.999, 1e-8, 0.01, {{"w", ops::ones({4, 4}), ops::ones({4, 4}), 2}}}};
  std::string path = dir / "c.h5";
  save_checkpoint(path, s);
  CHECK(error_of([&] { load_checkpoint(dir / "none.h5"); }).find("no such file") !=
        std::string::npos);
  write_bytes(dir / "text.h5", "hello, not hdf5");
  CHECK(error_of([&] { load_checkpoint(dir / "text.h5"); }).find("not an HDF5 file") !=
        std::string::npos);
  std::string bytes = read_bytes(path);
  write_bytes(dir / "trunc.h5", bytes.substr(0, bytes.size() / 2));
  std::string e = error_of([&] { load_checkpoint(dir / "trunc.h5"); });
  CHECK_MESSAGE(e.find("trunc.h5") != std::string::npos, e);
  CHECK(e != "(no error)");
  {  // A future format version is refused, not misread.
    fs::copy_file(path, dir / "v2.h5");
    hid_t f = H5Fopen((dir / "v2.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t a = H5Aopen(f, "format_version", H5P_DEFAULT);
    int64_t v = 2;
    H5Awrite(a, H5T_NATIVE_INT64, &v);
    H5Aclose(a);
    H5Ldelete(f, "model", H5P_DEFAULT);
    H5Fclose(f);
    CHECK(error_of([&] { load_checkpoint(dir / "v2.h5"); }).find("format version 2") !=
          std::string::npos);
  }
  // restore_checkpoint: matching state is filled in place; a mismatch changes nothing.
  TrainingState live;
  Tensor w = ops::zeros({4, 4}), b = ops::ones({4}), m = ops::zeros({4, 4});
  live.model = {{"w", w}, {"b", b}};
  live.optimizer = {GroupState{"all", 0, 0, 0, 0, 0, {{"w", m, Tensor(), 0}}}};
  restore_checkpoint(path, live);
  CHECK(w.to_vector<float>() == std::vector<float>(16, 1.f));
  CHECK(b.to_vector<float>() == std::vector<float>(4, 0.f));
  CHECK(m.to_vector<float>() == std::vector<float>(16, 1.f));
  CHECK(live.optimizer[0].params[0].exp_avg_sq.defined());
  CHECK(live.optimizer[0].params[0].step == 2);
  CHECK(live.optimizer[0].lr == 1e-3);
  Tensor w2 = ops::zeros({4, 5}, DType::f64);
  TrainingState wrong;
  wrong.model = {{"w", w2}, {"c", ops::zeros({1})}};
  e = error_of([&] { restore_checkpoint(path, wrong); });
  CHECK(e.find("model tensor w: checkpoint has f32 [4, 4], expected f64 [4, 5]") !=
        std::string::npos);
  CHECK(e.find("model tensor c: missing") != std::string::npos);
  CHECK(e.find("model tensor b: unexpected") != std::string::npos);
  CHECK(w2.to_vector<double>() == std::vector<double>(20, 0.0));
}

namespace {

// How many of this process's mappings show `path` (/proc/self/maps names the file of each).
int mappings_of(const std::string& path) {
  std::ifstream maps("/proc/self/maps");
  int count = 0;
  for (std::string line; std::getline(maps, line);) count += line.find(path) != std::string::npos;
  return count;
}

}  // namespace

TEST_CASE("safetensors: reading maps the file; tensors view it, copy-on-write, outlive the file") {
  TempDir dir;
  std::string path = dir / "m.safetensors";
  NamedTensors ts = sample_tensors();
  save_safetensors(path, ts);
  std::string bytes = read_bytes(path);
  Tensor kept;
  {
    SafetensorsFile f = read_safetensors(path);
    CHECK(mappings_of(path) == 1);
    for (const auto& [name, t] : f.tensors) {
      CHECK_MESSAGE(same_bits(t, find(ts, name)), name);
      CHECK(t.is_contiguous());
      // Our writer aligns the data, so every non-empty tensor is a view (no copy).
      CHECK_MESSAGE(t.storage()->is_external() == (t.nbytes() > 0), name);
      if (t.nbytes() > 0) CHECK(t.storage()->nbytes() == t.nbytes());  // only its own bytes
    }
    kept = find(f.tensors, "blocks.f32.weight");
    // A write is private to this process: the file keeps its bytes, a new read sees them.
    ops::fill_(kept, 7.0);
    CHECK(kept.to_vector<float>() == std::vector<float>(15, 7.f));
    CHECK(read_bytes(path) == bytes);
    CHECK(same_bits(find(load_safetensors(path), "blocks.f32.weight"),
                    find(ts, "blocks.f32.weight")));
  }
  // One live view keeps the mapping; replacing the file (atomically, by rename) does not change
  // what it sees.
  CHECK(mappings_of(path) == 1);
  save_safetensors(path, {{"blocks.f32.weight", ops::zeros({3, 5})}});
  CHECK(kept.to_vector<float>() == std::vector<float>(15, 7.f));
  kept = Tensor();
  CHECK(mappings_of(path) == 0);
  // A file with no views (only copies) is unmapped before read_safetensors returns.
  save_safetensors(path, {{"e", ops::zeros({0})}});
  SafetensorsFile f = read_safetensors(path);
  CHECK(!f.tensors[0].second.storage()->is_external());
  CHECK(mappings_of(path) == 0);
}

TEST_CASE("safetensors: a tensor misaligned for its dtype is copied, the others viewed") {
  TempDir dir;
  std::string path = dir / "u.safetensors";
  // A 3-byte U8 tensor first puts the F32 and F64 ones at odd addresses (header length 8k, as a
  // writer that pads to 8; the mapping itself is page-aligned).
  std::string header = R"({"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},)"
                       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[3,11]},)"
                       R"("c":{"dtype":"F64","shape":[1],"data_offsets":[11,19]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string data = "\x01\x02\x03";
  float b[2] = {1.5f, -2.25f};
  double c = 3.125;
  data.append(reinterpret_cast<const char*>(b), 8).append(reinterpret_cast<const char*>(&c), 8);
  write_bytes(path, raw_safetensors(header, 0) + data);
  NamedTensors l = load_safetensors(path);
  CHECK(find(l, "a").storage()->is_external());
  CHECK(find(l, "a").to_vector<uint8_t>() == std::vector<uint8_t>{1, 2, 3});
  for (const char* name : {"b", "c"}) {
    const Tensor& t = find(l, name);
    CHECK_MESSAGE(!t.storage()->is_external(), name);
    CHECK(reinterpret_cast<uintptr_t>(t.data_ptr()) % element_size(t.dtype()) == 0);
  }
  CHECK(find(l, "b").to_vector<float>() == std::vector<float>{1.5f, -2.25f});
  CHECK(find(l, "c").item() == 3.125);
}

TEST_CASE("safetensors: truncated and damaged files fail before any tensor is made") {
  TempDir dir;
  std::string path = dir / "t.safetensors";
  save_safetensors(path, sample_tensors());
  std::string bytes = read_bytes(path);
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  // Cut inside the data, at its start, inside the header: an Error naming the file, no SIGBUS.
  for (size_t len : {bytes.size() - 1, bytes.size() / 2, size_t(8 + n), size_t(8 + n / 2)}) {
    write_bytes(path, bytes.substr(0, len));
    std::string e = error_of([&] { load_safetensors(path); });
    CHECK_MESSAGE(e.find(path) != std::string::npos, e);
  }
  // A bad BOOL byte after valid tensors: rejected whole, and no mapping is left behind.
  std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                       R"("z":{"dtype":"BOOL","shape":[4],"data_offsets":[4,8]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  write_bytes(path, raw_safetensors(header, 0) + std::string(7, '\0') + "\x05");
  CHECK(error_of([&] { load_safetensors(path); }).find("not 0 or 1") != std::string::npos);
  CHECK(mappings_of(path) == 0);
}

TEST_CASE("Storage::wrap: external memory held by an owner; parse_safetensors views in memory") {
  CHECK(error_of([] { Storage::wrap(nullptr, 0, kCPU, nullptr); }).find("owner") !=
        std::string::npos);
  NamedTensors ts = {{"w", ops::arange(0, 6, 1, DType::f32)}, {"i", ops::ones({2}, DType::i64)}};
  TempDir dir;
  save_safetensors(dir / "s", ts);
  auto bytes = std::make_shared<std::string>(read_bytes(dir / "s"));
  std::weak_ptr<std::string> alive = bytes;
  SafetensorsFile f = parse_safetensors(bytes->data(), bytes->size(), "memory", bytes);
  bytes.reset();
  CHECK(!alive.expired());  // the views hold the buffer
  CHECK(find(f.tensors, "w").storage()->is_external());
  CHECK(find(f.tensors, "w").to_vector<float>() == std::vector<float>{0, 1, 2, 3, 4, 5});
  CHECK(same_bits(find(f.tensors, "i"), find(ts, "i")));
  f.tensors.clear();
  CHECK(alive.expired());
}

TEST_CASE("load_into: mapped tensors load into module parameters (with dtype conversion)") {
  TempDir dir;
  std::string path = dir / "lin.safetensors";
  Linear src(4, 3), dst(4, 3);
  dst.to(DType::bf16);
  NamedTensors sd = src.state_dict();
  save_safetensors(path, sd);
  {
    NamedTensors mapped = load_safetensors(path);
    REQUIRE(mapped.size() == 2);
    CHECK(mapped[0].second.storage()->is_external());
    LoadIntoReport r = load_into(mapped, dst.state_dict());
    CHECK(r.ok());
    CHECK(r.loaded == 2);
  }
  CHECK(mappings_of(path) == 0);  // the parameters are copies, not views of the file
  CHECK(dst.weight.dtype() == DType::bf16);
  CHECK(same_bits(dst.weight, ops::to(src.weight, DType::bf16)));
  CHECK(same_bits(dst.bias, ops::to(src.bias, DType::bf16)));
}
