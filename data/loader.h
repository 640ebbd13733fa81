// defines: Loader, which turns a ClipDataset into batches [B, 3, N, S, S] with captions: seeded
// per-epoch shuffling, a held-out split, background prefetch threads, and a LoaderPosition that
// can be saved and restored. A batch is a pure function of (seed, epoch, batch index) and the
// options, so thread count and timing never change what a run sees (data/README.md).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/clip_sampler.h"
#include "data/dataset.h"
#include "tensor/tensor.h"

namespace trip::data {

// Which videos a loader uses. With eval_every = k > 0, video i is held out for evaluation iff
// i % k == 0 (so the eval split is never empty); train is the rest; all ignores k.
enum class Split { all, train, eval };

struct LoaderOptions {
  int64_t batch_size = 4;
  ClipOptions clip;
  uint64_t seed = 0;
  int threads = 2;        // prefetch threads; 0 builds each batch in next() on the caller's thread
  int64_t prefetch = 4;   // batches built ahead of the one next() returns (at least 1)
  bool shuffle = true;    // a new order each epoch; else dataset order
  bool drop_last = true;  // epochs of floor(n / B) full batches; else the last batch is smaller
  int64_t epochs = 0;     // 0: endless; else next() returns nothing after this many epochs
  Split split = Split::all;
  int64_t eval_every = 0;   // the held-out rule above
  bool skip_short = false;  // leave out videos shorter than a clip (else clip.short_video applies)
};
// The same loader settings for evaluation: the eval split, dataset order, centre crops, every
// video once (epochs 1, no dropped last batch).
LoaderOptions eval_options(LoaderOptions train);

// Where a loader stands: the next batch is batch `batch` of epoch `epoch` under `seed`.
struct LoaderPosition {
  uint64_t seed = 0;
  int64_t epoch = 0, batch = 0;
  nlohmann::json to_json() const;
  static LoaderPosition from_json(const nlohmann::json& j);  // throws trip::Error when malformed
  bool operator==(const LoaderPosition&) const = default;
};

struct Batch {
  Tensor clips;                       // [B, 3, N, S, S] float in [-1, 1]
  std::vector<std::string> captions;  // B captions
  std::vector<int64_t> videos;        // dataset index of each clip
  int64_t epoch = 0, batch = 0;       // this batch's place
};

// The dataset indices of a split, in dataset order.
std::vector<int64_t> split_videos(int64_t count, Split split, int64_t eval_every);
// The order of `videos` in `epoch`: a Fisher-Yates shuffle seeded by (seed, epoch), or as given.
std::vector<int64_t> epoch_order(const std::vector<int64_t>& videos, uint64_t seed, int64_t epoch,
                                 bool shuffle);

class Loader {
 public:
  // Starts at epoch 0, batch 0, or at a saved position (whose seed must be options.seed).
  Loader(std::shared_ptr<const ClipDataset> dataset, LoaderOptions options,
         std::optional<LoaderPosition> start = std::nullopt);
  Loader(const std::string& path, LoaderOptions options,
         std::optional<LoaderPosition> start = std::nullopt);
  ~Loader();  // stops and joins the prefetch threads
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // The next batch, or nothing after options.epochs epochs. An error while building a batch
  // (in any thread) is rethrown here as trip::Error naming the file, video, epoch and batch; the
  // loader stays at that batch, and calling next() again throws the same error.
  std::optional<Batch> next();
  LoaderPosition position() const;  // of the batch next() returns next
  int64_t batches_per_epoch() const;
  const std::vector<int64_t>& videos() const;  // the split's videos (after skip_short)
  // Batch `batch` of `epoch`: what next() returns there (used by the threads; public for tests).
  Batch make_batch(int64_t epoch, int64_t batch) const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace trip::data
