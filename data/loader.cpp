#include "data/loader.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <thread>

#include "data/rng.h"
#include "tensor/error.h"

namespace trip::data {

LoaderOptions eval_options(LoaderOptions o) {
  o.split = Split::eval;
  o.shuffle = false;
  o.drop_last = false;
  o.epochs = 1;
  o.clip.crop = Crop::center;
  return o;
}

nlohmann::json LoaderPosition::to_json() const {
  // The seed as a string: JSON readers that hold numbers as doubles would round a 64-bit seed.
  return {{"seed", std::to_string(seed)}, {"epoch", epoch}, {"batch", batch}};
}

LoaderPosition LoaderPosition::from_json(const nlohmann::json& j) {
  try {
    LoaderPosition p;
    p.seed = std::stoull(j.at("seed").get<std::string>());
    p.epoch = j.at("epoch").get<int64_t>();
    p.batch = j.at("batch").get<int64_t>();
    TRIP_CHECK(p.epoch >= 0 && p.batch >= 0, "negative epoch {} or batch {}", p.epoch, p.batch);
    return p;
  } catch (const std::exception& e) {
    fail("loader position {}: {}", j.dump(), e.what());
  }
}

std::vector<int64_t> split_videos(int64_t count, Split split, int64_t eval_every) {
  TRIP_CHECK(count >= 0 && eval_every >= 0, "split_videos: count {} and eval_every {} must be >= 0",
             count, eval_every);
  TRIP_CHECK(split == Split::all || eval_every > 0,
             "split_videos: a train or eval split needs eval_every > 0");
  std::vector<int64_t> out;
  for (int64_t i = 0; i < count; ++i) {
    const bool held_out = eval_every > 0 && i % eval_every == 0;
    if (split == Split::all || (split == Split::eval) == held_out) out.push_back(i);
  }
  return out;
}

std::vector<int64_t> epoch_order(const std::vector<int64_t>& videos, uint64_t seed, int64_t epoch,
                                 bool shuffle) {
  std::vector<int64_t> order = videos;
  if (!shuffle) return order;
  SplitMix64 rng(mix(seed, {0, uint64_t(epoch)}));
  for (size_t i = order.size(); i > 1; --i)
    std::swap(order[i - 1], order[size_t(rng.below(int64_t(i)))]);
  return order;
}

struct Loader::State {
  std::shared_ptr<const ClipDataset> dataset;
  LoaderOptions options;
  std::vector<int64_t> videos;
  int64_t per_epoch = 0;
  int64_t end = 0;  // global batch number after the last one (epochs * per_epoch, or "endless")

  // Prefetch: batch numbers count from epoch 0, batch 0; threads claim them in order and park
  // finished ones in `ready` until next() takes them in order.
  std::mutex mutex;
  std::condition_variable room, arrived;
  std::map<int64_t, std::pair<std::optional<Batch>, std::exception_ptr>> ready;
  int64_t next_claim = 0, next_return = 0;
  bool stop = false;
  std::vector<std::thread> threads;

  // The shuffled order of the epochs being built (at most two at an epoch boundary), computed
  // once per epoch rather than per batch: an epoch of a large dataset is millions of indices.
  std::mutex order_mutex;
  std::map<int64_t, std::shared_ptr<const std::vector<int64_t>>> orders;

  std::shared_ptr<const std::vector<int64_t>> order(int64_t epoch) {
    std::lock_guard lock(order_mutex);
    auto it = orders.find(epoch);
    if (it != orders.end()) return it->second;
    auto made = std::make_shared<const std::vector<int64_t>>(
        epoch_order(videos, options.seed, epoch, options.shuffle));
    orders[epoch] = made;
    while (orders.size() > 2) orders.erase(orders.begin());  // batches come in epoch order
    return made;
  }

  void stop_threads() {
    {
      std::lock_guard lock(mutex);
      stop = true;
    }
    room.notify_all();
    for (std::thread& t : threads) t.join();
    threads.clear();
  }

  void work(const Loader& self) {
    while (true) {
      int64_t g;
      {
        std::unique_lock lock(mutex);
        room.wait(lock, [&] {
          return stop || (next_claim < end && next_claim < next_return + options.prefetch);
        });
        if (stop) return;
        g = next_claim++;
      }
      std::optional<Batch> batch;
      std::exception_ptr error;
      try {
        batch = self.make_batch(g / per_epoch, g % per_epoch);
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard lock(mutex);
      ready[g] = {std::move(batch), error};
      arrived.notify_all();
    }
  }
};

Loader::Loader(const std::string& path, LoaderOptions options, std::optional<LoaderPosition> start)
    : Loader(std::make_shared<const ClipDataset>(path), options, start) {}

Loader::Loader(std::shared_ptr<const ClipDataset> dataset, LoaderOptions options,
               std::optional<LoaderPosition> start)
    : s_(std::make_unique<State>()) {
  State& s = *s_;
  TRIP_CHECK(dataset != nullptr, "Loader: no dataset");
  const std::string where = "loader over " + dataset->path();
  TRIP_CHECK(
      options.batch_size > 0 && options.threads >= 0 && options.prefetch > 0 && options.epochs >= 0,
      "{}: batch size {}, threads {}, prefetch {} and epochs {} are out of range", where,
      options.batch_size, options.threads, options.prefetch, options.epochs);
  TRIP_CHECK(options.clip.frames > 0 && options.clip.fps > 0 && options.clip.size > 0,
             "{}: clip of {} frames at {} fps and size {}", where, options.clip.frames,
             options.clip.fps, options.clip.size);
  s.dataset = std::move(dataset);
  s.options = options;
  s.videos = split_videos(s.dataset->size(), options.split, options.eval_every);
  if (options.skip_short) {
    std::erase_if(s.videos,
                  [&](int64_t i) { return !clip_fits(s.dataset->info(i), options.clip); });
  }
  const int64_t n = int64_t(s.videos.size()), B = options.batch_size;
  s.per_epoch = options.drop_last ? n / B : (n + B - 1) / B;
  TRIP_CHECK(s.per_epoch > 0, "{}: the split has {} videos, fewer than one batch of {}", where, n,
             B);
  s.end = options.epochs > 0 ? options.epochs * s.per_epoch : std::numeric_limits<int64_t>::max();
  if (start) {
    TRIP_CHECK(start->seed == options.seed,
               "{}: the position was saved with seed {}, the loader has seed {}", where,
               start->seed, options.seed);
    TRIP_CHECK(start->epoch >= 0 && start->batch >= 0 && start->batch < s.per_epoch,
               "{}: position epoch {} batch {} is outside an epoch of {} batches", where,
               start->epoch, start->batch, s.per_epoch);
    s.next_claim = s.next_return = start->epoch * s.per_epoch + start->batch;
  }
  try {
    for (int t = 0; t < options.threads; ++t) s.threads.emplace_back([this] { s_->work(*this); });
  } catch (...) {  // a thread that could not start: join the others before the error leaves
    s.stop_threads();
    throw;
  }
}

Loader::~Loader() { s_->stop_threads(); }

int64_t Loader::batches_per_epoch() const { return s_->per_epoch; }
const std::vector<int64_t>& Loader::videos() const { return s_->videos; }

LoaderPosition Loader::position() const {
  std::lock_guard lock(s_->mutex);
  return {s_->options.seed, s_->next_return / s_->per_epoch, s_->next_return % s_->per_epoch};
}

Batch Loader::make_batch(int64_t epoch, int64_t batch) const {
  State& s = *s_;
  TRIP_CHECK(epoch >= 0, "loader over {}: epoch {} is negative", s.dataset->path(), epoch);
  const std::shared_ptr<const std::vector<int64_t>> shared_order = s.order(epoch);
  const std::vector<int64_t>& order = *shared_order;
  const int64_t B = s.options.batch_size, first = batch * B;
  const int64_t count = std::min<int64_t>(B, int64_t(order.size()) - first);
  TRIP_CHECK(batch >= 0 && batch < s.per_epoch && count > 0,
             "loader over {}: batch {} is outside an epoch of {} batches", s.dataset->path(), batch,
             s.per_epoch);
  const ClipOptions& clip = s.options.clip;
  const int64_t N = clip.frames, S = clip.size, per_clip = 3 * N * S * S;
  Batch out;
  out.epoch = epoch;
  out.batch = batch;
  std::vector<float> values(size_t(count * per_clip));
  for (int64_t j = 0; j < count; ++j) {
    const int64_t video = order[size_t(first + j)];
    try {
      // Each clip's start and crop are seeded by its slot in the epoch: a pure function of
      // (seed, epoch, batch, j), whichever thread builds it.
      const uint64_t seed = mix(s.options.seed, {1, uint64_t(epoch), uint64_t(first + j)});
      const ClipPlan plan = plan_clip(s.dataset->info(video), clip, seed);
      const Video frames = s.dataset->read_frames(video, plan.frames);
      const Tensor t = resize_crop(frames, plan.crop_y, plan.crop_x, plan.crop_side, plan.size);
      const std::vector<float> v = t.to_vector<float>();
      std::memcpy(values.data() + j * per_clip, v.data(), v.size() * sizeof(float));
      out.captions.push_back(frames.caption);
      out.videos.push_back(video);
    } catch (const std::exception& e) {
      fail("loader over {}: video {} (epoch {}, batch {}): {}", s.dataset->path(), video, epoch,
           batch, e.what());
    }
  }
  out.clips = from_vector(values, {count, 3, N, S, S});
  return out;
}

std::optional<Batch> Loader::next() {
  State& s = *s_;
  if (s.options.threads == 0) {
    if (s.next_return >= s.end) return std::nullopt;
    Batch b = make_batch(s.next_return / s.per_epoch, s.next_return % s.per_epoch);
    std::lock_guard lock(s.mutex);
    ++s.next_return;
    return b;
  }
  std::unique_lock lock(s.mutex);
  if (s.next_return >= s.end) return std::nullopt;
  s.arrived.wait(lock, [&] { return s.ready.count(s.next_return) > 0; });
  auto it = s.ready.find(s.next_return);
  if (it->second.second) std::rethrow_exception(it->second.second);  // kept: next() throws again
  Batch b = std::move(*it->second.first);
  s.ready.erase(it);
  ++s.next_return;
  lock.unlock();
  s.room.notify_all();
  return b;
}

}  // namespace trip::data
