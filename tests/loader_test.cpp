// data/loader: batches are a pure function of (seed, epoch, batch) whatever the thread count,
// positions save and restore, splits are disjoint, worker errors reach the caller.
#include <doctest/doctest.h>

#include <set>

#include "data/loader.h"
#include "data/synthetic.h"
#include "data_test_util.h"
#include "tensor/error.h"

using namespace trip;

namespace {

std::shared_ptr<const data::ClipDataset> small_dataset(const test::TempDir& dir, int64_t count) {
  const std::string path = dir.file("synth.h5");
  data::synthesize_dataset(path, {.count = count, .seed = 11, .frames = 12, .size = 20, .fps = 8});
  return std::make_shared<const data::ClipDataset>(path);
}

data::LoaderOptions options(int threads) {
  return {.batch_size = 3,
          .clip = {.frames = 4, .fps = 4, .size = 16},
          .seed = 77,
          .threads = threads,
          .prefetch = 2};
}

struct Seen {
  std::vector<float> clips;
  std::vector<std::string> captions;
  std::vector<int64_t> videos;
  bool operator==(const Seen&) const = default;
};
Seen seen(const data::Batch& b) { return {b.clips.to_vector<float>(), b.captions, b.videos}; }

std::vector<Seen> take(data::Loader& loader, int n) {
  std::vector<Seen> out;
  for (int i = 0; i < n; ++i) out.push_back(seen(*loader.next()));
  return out;
}

}  // namespace

TEST_CASE("loader: same seed, same batches with 0, 1 and 3 threads; new order each epoch") {
  test::TempDir dir;
  auto ds = small_dataset(dir, 10);
  data::Loader l0(ds, options(0)), l1(ds, options(1)), l3(ds, options(3));
  CHECK(l1.batches_per_epoch() == 3);  // 10 videos, batches of 3, last partial dropped
  const std::vector<Seen> a = take(l0, 7), b = take(l1, 7), c = take(l3, 7);
  CHECK(a == b);
  CHECK(a == c);
  data::Loader l3b(ds, options(3));
  const std::optional<data::Batch> first = l3b.next();
  REQUIRE(first);
  CHECK(first->clips.shape() == Dims({3, 3, 4, 16, 16}));
  CHECK(first->captions.size() == 3);
  CHECK(first->captions[0] == ds->info(first->videos[0]).caption);
  CHECK(first->epoch == 0);
  // An epoch sees each video at most once; epochs are ordered differently.
  std::set<int64_t> epoch0;
  for (int i = 0; i < 3; ++i)
    for (int64_t v : a[size_t(i)].videos) CHECK(epoch0.insert(v).second);
  CHECK(a[0].videos != a[3].videos);
  // Another seed gives other batches.
  data::LoaderOptions other = options(2);
  other.seed = 78;
  data::Loader lo(ds, other);
  CHECK(seen(*lo.next()) != a[0]);
}

TEST_CASE("loader: a saved position restores the same next batches in a new loader") {
  test::TempDir dir;
  auto ds = small_dataset(dir, 10);
  data::Loader full(ds, options(2));
  const std::vector<Seen> all = take(full, 8);
  data::Loader first(ds, options(3));
  take(first, 4);
  const data::LoaderPosition saved = first.position();
  CHECK(saved == data::LoaderPosition{77, 1, 1});
  const nlohmann::json stored = saved.to_json();
  const data::LoaderPosition restored =
      data::LoaderPosition::from_json(nlohmann::json::parse(stored.dump()));
  CHECK(restored == saved);
  data::Loader resumed(ds, options(1), restored);
  const std::vector<Seen> rest = take(resumed, 4);
  for (int i = 0; i < 4; ++i) CHECK(rest[size_t(i)] == all[size_t(4 + i)]);
  CHECK(seen(resumed.make_batch(2, 0)) == all[6]);
  CHECK_THROWS_WITH_AS(data::Loader(ds, options(1), data::LoaderPosition{5, 0, 0}),
                       doctest::Contains("saved with seed 5"), Error);
  CHECK_THROWS_AS(data::LoaderPosition::from_json({{"seed", "1"}}), Error);
}

TEST_CASE("loader: held-out split, eval options, epochs limit, partial last batch") {
  test::TempDir dir;
  auto ds = small_dataset(dir, 10);
  CHECK(data::split_videos(10, data::Split::eval, 4) == std::vector<int64_t>{0, 4, 8});
  CHECK(data::split_videos(10, data::Split::train, 4) == std::vector<int64_t>{1, 2, 3, 5, 6, 7, 9});
  CHECK(data::split_videos(3, data::Split::all, 0).size() == 3);
  CHECK_THROWS_AS(data::split_videos(3, data::Split::eval, 0), Error);
  data::LoaderOptions train = options(2);
  train.split = data::Split::train;
  train.eval_every = 4;
  data::Loader eval(ds, data::eval_options(train));
  CHECK(eval.batches_per_epoch() == 1);
  const std::optional<data::Batch> b = eval.next();
  REQUIRE(b);
  CHECK(b->videos == std::vector<int64_t>{0, 4, 8});
  CHECK_FALSE(eval.next());
  CHECK_FALSE(eval.next());
  data::LoaderOptions partial = data::eval_options(train);
  partial.split = data::Split::all;
  partial.batch_size = 4;
  data::Loader p(ds, partial);
  CHECK(p.next()->videos.size() == 4);
  CHECK(p.next()->videos.size() == 4);
  CHECK(p.next()->clips.size(0) == 2);
  CHECK_FALSE(p.next());
  data::Loader t(ds, train);
  for (int i = 0; i < 4; ++i) {
    const std::optional<data::Batch> tb = t.next();
    for (int64_t v : tb->videos) CHECK(v % 4 != 0);
  }
  train.batch_size = 8;
  CHECK_THROWS_WITH_AS(data::Loader(ds, train), doctest::Contains("fewer than one batch"), Error);
}

TEST_CASE("loader: errors in prefetch threads reach the caller with their message") {
  test::TempDir dir;
  const std::string path = dir.file("short.h5");
  {
    data::DatasetWriter w(path);
    for (int i = 0; i < 4; ++i) w.append(data::synthesize(i, 1, i == 2 ? 2 : 12, 16, 8));
    w.close();
  }
  data::LoaderOptions o = options(3);
  o.batch_size = 1;
  o.shuffle = false;
  o.clip.short_video = data::ShortVideo::error;
  data::Loader loader(path, o);
  CHECK(loader.next()->videos == std::vector<int64_t>{0});
  CHECK(loader.next()->videos == std::vector<int64_t>{1});
  CHECK_THROWS_WITH_AS(loader.next(), doctest::Contains("video 2 (epoch 0, batch 2)"), Error);
  CHECK_THROWS_WITH_AS(loader.next(), doctest::Contains("but the video has 2 frames"), Error);
  CHECK(loader.position() == data::LoaderPosition{77, 0, 2});
  // skip_short leaves the short video out instead.
  o.skip_short = true;
  data::Loader skipping(path, o);
  CHECK(skipping.videos() == std::vector<int64_t>{0, 1, 3});
  CHECK_THROWS_WITH_AS(data::Loader(dir.file("none.h5"), o), doctest::Contains("no such file"),
                       Error);
}

TEST_CASE("loader: a damaged chunk read in a prefetch thread is an error naming file and video") {
  test::TempDir dir;
  const std::string path = dir.file("damaged.h5");
  const data::Video v = data::synthesize(0, 3, 4, 16, 4);
  {
    data::DatasetWriter w(path, {.chunk_frames = 4});
    w.append(v);
    w.append(v);
    w.close();
  }
  std::string bytes = test::read_bytes(path);
  const std::string frame0(reinterpret_cast<const char*>(v.frame(0)), v.frame_bytes());
  const size_t at = bytes.rfind(frame0);  // video 1's copy
  REQUIRE(at != std::string::npos);
  bytes[at + 5] = char(bytes[at + 5] ^ 8);
  test::write_bytes(path, bytes);
  data::LoaderOptions o = options(2);
  o.batch_size = 1;
  o.shuffle = false;
  data::Loader loader(path, o);
  CHECK(loader.next()->videos == std::vector<int64_t>{0});
  std::string message;
  try {
    loader.next();
  } catch (const Error& e) {
    message = e.what();
  }
  CHECK(message.find("clip dataset " + path + ": video 1: cannot read frame") != std::string::npos);
  CHECK(message.find("(epoch 0, batch 1)") != std::string::npos);
}
