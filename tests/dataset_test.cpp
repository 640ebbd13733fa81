// data/dataset: the HDF5 clip dataset (schema round trip, partial reads, damaged files, atomic
// writes).
#include <doctest/doctest.h>

#include "data/dataset.h"
#include "data_test_util.h"
#include "tensor/error.h"

using namespace trip;
using test::TempDir;

// libhdf5 1.10 leaks memory on some error paths when reading corrupted files (as in
// io_fuzz_test.cpp); not ours to fix. Only takes effect under LeakSanitizer (scripts/test-asan).
extern "C" const char* __lsan_default_suppressions() { return "leak:libhdf5\n"; }

namespace {

// The error message of `f`, or "" when it does not throw trip::Error.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void write_two(const std::string& path, data::WriterOptions options = {}) {
  data::DatasetWriter w(path, options);
  data::Video a = test::patterned_video(5, 6, 7, 8.0, 1);
  a.caption = "a red circle moves left — über 🚀";
  a.origin = "synthetic:test:1";
  data::Video b = test::patterned_video(3, 4, 9, 29.97, 2);
  b.caption = "";
  b.origin = "clip.mp4";
  w.append(a);
  w.append(b);
  CHECK(w.size() == 2);
  w.close();
}

}  // namespace

TEST_CASE(
    "clip dataset: round trip is bit exact (pixels, UTF-8 captions, fps), with and without gzip") {
  for (int gzip : {0, 6}) {
    TempDir dir;
    const std::string path = dir.file("clips.h5");
    write_two(path, {.gzip = gzip, .chunk_frames = 2});
    CHECK(dir.count() == 1);  // no temporary file left behind
    data::ClipDataset ds(path);
    REQUIRE(ds.size() == 2);
    const data::VideoInfo info = ds.info(0);
    CHECK(info.frames == 5);
    CHECK(info.height == 6);
    CHECK(info.width == 7);
    CHECK(info.fps == 8.0);
    CHECK(info.caption == "a red circle moves left — über 🚀");
    CHECK(info.origin == "synthetic:test:1");
    const data::Video a = ds.read(0), b = ds.read(1);
    CHECK(a.rgb == test::patterned_video(5, 6, 7, 8.0, 1).rgb);
    CHECK(b.rgb == test::patterned_video(3, 4, 9, 29.97, 2).rgb);
    CHECK(b.fps == 29.97);
    CHECK(b.caption.empty());
    CHECK(b.origin == "clip.mp4");
    CHECK_THROWS_WITH_AS(ds.read(2), doctest::Contains("video 2 is out of range"), Error);
    const data::DatasetSummary sum = data::summarize(ds);
    CHECK(sum.videos == 2);
    CHECK(sum.total_frames == 8);
    CHECK(sum.min_frames == 3);
    CHECK(sum.max_frames == 5);
    CHECK(sum.max_fps == 29.97);
    CHECK(sum.sizes == std::vector<std::pair<int64_t, int64_t>>{{4, 9}, {6, 7}});
    CHECK(sum.captioned == 1);
    const std::string text = data::describe(ds, 1);
    CHECK(text.find("2 videos, 8 frames (3..5 per video)") != std::string::npos);
    CHECK(text.find("über 🚀") != std::string::npos);
    CHECK(text.find("clip.mp4") == std::string::npos);  // only the first video is listed
  }
}

TEST_CASE("clip dataset: read_frames reads the listed frames in order, repeats allowed") {
  TempDir dir;
  const std::string path = dir.file("clips.h5");
  write_two(path, {.chunk_frames = 2});
  data::ClipDataset ds(path);
  const data::Video full = ds.read(0);
  const std::vector<int64_t> want = {4, 0, 2, 2, 4};
  const data::Video part = ds.read_frames(0, want);
  REQUIRE(part.frames == 5);
  CHECK(part.caption == full.caption);
  for (size_t k = 0; k < want.size(); ++k) {
    CHECK(std::equal(part.frame(int64_t(k)), part.frame(int64_t(k)) + part.frame_bytes(),
                     full.frame(want[k])));
  }
  CHECK_THROWS_WITH_AS(ds.read_frames(0, {5}), doctest::Contains("frame 5 is outside its 5"),
                       Error);
  CHECK_THROWS_AS(ds.read_frames(0, {}), Error);
}

TEST_CASE("clip dataset: appending keeps the old videos; existing files are not replaced unasked") {
  TempDir dir;
  const std::string path = dir.file("clips.h5");
  write_two(path);
  const std::string before = test::read_bytes(path);
  // Without overwrite the writer refuses at once and leaves the file alone.
  CHECK_THROWS_WITH_AS(data::DatasetWriter{path}, doctest::Contains("the file exists"), Error);
  {  // A writer that fails mid-way (a bad video) and is destroyed: the old file is intact.
    data::DatasetWriter w(path, {.overwrite = true});
    w.append(test::patterned_video(2, 2, 2, 1.0, 3));
    data::Video bad = test::patterned_video(2, 2, 2, 1.0, 3);
    bad.rgb.pop_back();
    CHECK_THROWS_AS(w.append(bad), Error);
  }
  CHECK(test::read_bytes(path) == before);
  CHECK(dir.count() == 1);
  {
    data::DatasetWriter w(path, {.append = true});
    CHECK(w.size() == 2);
    data::Video c = test::patterned_video(2, 3, 3, 2.0, 4);
    c.caption = "third";
    w.append(c);
    w.close();
  }
  data::ClipDataset ds(path);
  REQUIRE(ds.size() == 3);
  CHECK(ds.read(0).rgb == test::patterned_video(5, 6, 7, 8.0, 1).rgb);
  CHECK(ds.info(2).caption == "third");
  // A file that appears while a non-overwriting writer runs is not replaced either.
  const std::string other = dir.file("other.h5");
  data::DatasetWriter w(other);
  w.append(test::patterned_video(1, 2, 2, 1.0, 5));
  test::write_bytes(other, "someone else's file");
  CHECK_THROWS_WITH_AS(w.close(), doctest::Contains("appeared meanwhile"), Error);
  CHECK(test::read_bytes(other) == "someone else's file");
  CHECK(dir.count() == 2);
}

TEST_CASE(
    "clip dataset: missing, non-HDF5, truncated and foreign files give errors naming the file") {
  TempDir dir;
  const std::string missing = dir.file("missing.h5");
  CHECK(error_of([&] { data::ClipDataset ds(missing); }).find(missing + ": no such file") !=
        std::string::npos);
  const std::string text = dir.file("text.h5");
  test::write_bytes(text, "this is not an HDF5 file at all, just some text\n");
  CHECK(error_of([&] { data::ClipDataset ds(text); }).find(text + ": not an HDF5 file") !=
        std::string::npos);
  CHECK(error_of([&] { data::ClipDataset ds(dir.path.string()); }).find("not a regular file") !=
        std::string::npos);

  const std::string good = dir.file("good.h5");
  write_two(good);
  const std::string bytes = test::read_bytes(good);
  // Truncations at many lengths: each opens with an error or reads with an error, never crashes.
  for (size_t keep : {size_t(8), size_t(100), size_t(600), bytes.size() / 3, bytes.size() / 2,
                      bytes.size() - 200, bytes.size() - 1}) {
    CAPTURE(keep);
    const std::string cut = dir.file("cut.h5");
    test::write_bytes(cut, bytes.substr(0, keep));
    const std::string message = error_of([&] {
      data::ClipDataset ds(cut);
      for (int64_t i = 0; i < ds.size(); ++i) ds.read(i);
    });
    CHECK(message.find(cut) != std::string::npos);
  }
  // Flipped bytes: errors or (in pixel data) wrong pixels, never a crash.
  for (size_t at = 0; at < bytes.size(); at += 97) {
    const std::string flipped = dir.file("flipped.h5");
    std::string b = bytes;
    b[at] = char(b[at] ^ 0x5a);
    test::write_bytes(flipped, b);
    try {
      data::ClipDataset ds(flipped);
      for (int64_t i = 0; i < ds.size(); ++i) ds.read_frames(i, {0});
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find(flipped) != std::string::npos);
    }
  }
}

TEST_CASE("clip dataset: damaged pixels fail their chunk's checksum; other chunks still read") {
  TempDir dir;
  const std::string path = dir.file("clips.h5");
  const data::Video v = test::patterned_video(6, 8, 8, 4.0, 9);
  {
    data::DatasetWriter w(path, {.chunk_frames = 2});
    w.append(v);
    w.close();
  }
  std::string bytes = test::read_bytes(path);
  // Frame 1 (chunk 0) is stored verbatim: find it and flip one of its bytes.
  const std::string frame1(reinterpret_cast<const char*>(v.frame(1)), v.frame_bytes());
  const size_t at = bytes.find(frame1);
  REQUIRE(at != std::string::npos);
  bytes[at + 17] = char(bytes[at + 17] ^ 1);
  test::write_bytes(path, bytes);
  data::ClipDataset ds(path);
  CHECK(ds.info(0).frames == 6);
  const std::string message = error_of([&] { ds.read_frames(0, {0}); });
  CHECK(message.find(path) != std::string::npos);
  CHECK(message.find("cannot read frame 0") != std::string::npos);
  CHECK_THROWS_AS(ds.read(0), Error);
  const data::Video later = ds.read_frames(0, {4, 5});
  CHECK(std::equal(later.frame(0), later.frame(0) + later.frame_bytes(), v.frame(4)));
}

TEST_CASE("clip dataset: bad writer options and bad videos are refused") {
  TempDir dir;
  CHECK_THROWS_WITH_AS(data::DatasetWriter(dir.file("a.h5"), {.gzip = 12}),
                       doctest::Contains("gzip level 12"), Error);
  CHECK_THROWS_WITH_AS(data::DatasetWriter(dir.file("b.h5"), {.append = true}),
                       doctest::Contains("does not exist"), Error);
  data::DatasetWriter w(dir.file("c.h5"));
  data::Video v;
  CHECK_THROWS_AS(w.append(v), Error);
  w.close();
  CHECK(data::ClipDataset(dir.file("c.h5")).size() == 0);
  CHECK_THROWS_AS(w.close(), Error);
}
