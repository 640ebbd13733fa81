// Checkpoints with EMA shadow weights (/ema): bit-exact round trip, optional group, restore.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>

#include "nn/io/checkpoint.h"
#include "tensor/ops.h"

using namespace trip;
using namespace trip::nn;

TEST_CASE("checkpoint: EMA shadows round trip; files without them load with none") {
  char dir[] = "/tmp/trip_io_ema_test.XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string with = std::string(dir) + "/with.h5", without = std::string(dir) + "/no.h5";
  ops::Generator gen{3, 0};
  TrainingState s;
  s.model = {{"w", ops::randn({4, 3}, DType::f32, &gen)}, {"b", ops::randn({3}, DType::f32, &gen)}};
  s.ema = {{"w", ops::randn({4, 3}, DType::f32, &gen)}, {"b", ops::randn({3}, DType::f32, &gen)}};
  s.ema_updates = 17;
  save_checkpoint(with, s);
  const TrainingState l = load_checkpoint(with);
  REQUIRE(l.ema.size() == 2);
  CHECK(l.ema_updates == 17);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(l.ema[i].first == s.ema[i].first);
    CHECK(l.ema[i].second.to_vector<float>() == s.ema[i].second.to_vector<float>());
  }
  TrainingState restored;
  restored.model = {{"w", ops::zeros({4, 3})}, {"b", ops::zeros({3})}};
  restore_checkpoint(with, restored);
  CHECK(restored.ema_updates == 17);
  CHECK(restored.ema.size() == 2);

  TrainingState plain = s;
  plain.ema.clear();
  plain.ema_updates = 0;
  save_checkpoint(without, plain);
  const TrainingState lp = load_checkpoint(without);
  CHECK(lp.ema.empty());
  CHECK(lp.ema_updates == 0);
  std::filesystem::remove_all(dir);
}
