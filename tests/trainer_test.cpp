// Trainer (trip/trainer.h): bit-exact resume, NaN handling, lr schedule, EMA weights, and the
// training configuration's JSON.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "autograd/functions.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "trip/trainer.h"
#include "trip_micro.h"

using namespace trip;

namespace {

TrainConfig micro_train_config() {
  TrainConfig c;
  c.model = testing::micro_config();
  c.batch = 2;
  c.steps = 20;
  c.warmup_steps = 2;
  c.unet_lr = 1e-3;
  c.tnf_lr = 2e-3;
  c.ema_decay = 0.9;
  c.seed = 5;
  return c;
}

WordTokenizer micro_tokenizer() {
  return WordTokenizer::build({"a red circle moves left", "a blue square bounces"});
}

// The batch of step k: a deterministic function of k, like a loader restored to its position.
Tensor batch_of(int64_t k) {
  ops::Generator gen{100 + static_cast<uint64_t>(k), 0};
  return trip::clamp(ops::randn({2, 2, 3, 8, 8}, DType::f32, &gen), -1, 1);
}
const std::vector<std::string> kCaptions = {"a red circle moves left", "a blue square bounces"};

struct TempDir {
  std::string path;
  TempDir() {
    char name[] = "/tmp/trip_trainer_test.XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    path = name;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("Trainer: a resumed run's losses equal an uninterrupted run's, bit for bit") {
  TempDir dir;
  std::vector<double> straight;
  {
    Trainer trainer(micro_train_config(), micro_tokenizer());
    for (int64_t k = 0; k < 6; ++k)
      straight.push_back(trainer.train_step(batch_of(k), kCaptions).loss);
  }
  std::vector<double> resumed;
  {
    Trainer first(micro_train_config(), micro_tokenizer());
    for (int64_t k = 0; k < 3; ++k)
      resumed.push_back(first.train_step(batch_of(k), kCaptions).loss);
    first.save(dir.path + "/ckpt.h5", R"({"loader": {"position": 3}})");
  }
  {
    manual_seed(999);  // a fresh process would have another generator state: resume restores it
    Trainer second(micro_train_config(), micro_tokenizer());
    const std::string extra = second.resume(dir.path + "/ckpt.h5");
    CHECK(extra == R"({"loader":{"position":3}})");
    CHECK(second.step() == 3);
    for (int64_t k = 3; k < 6; ++k)
      resumed.push_back(second.train_step(batch_of(k), kCaptions).loss);
  }
  REQUIRE(resumed.size() == straight.size());
  for (size_t i = 0; i < straight.size(); ++i) {
    CAPTURE(i);
    CHECK(resumed[i] == straight[i]);  // exact
  }
  CHECK(straight[5] != straight[4]);  // the steps do change something
}

TEST_CASE("Trainer: non-finite steps are skipped, counted, and stop the run when repeated") {
  TrainConfig config = micro_train_config();
  config.max_bad_steps = 2;
  Trainer trainer(config, micro_tokenizer());
  trainer.train_step(batch_of(0), kCaptions);
  const Tensor before = ops::clone(trainer.model().unet->conv_in->weight);
  Tensor poisoned = ops::clone(batch_of(1));
  ops::fill_(ops::select(poisoned, 0, 1), std::nan(""));
  StepStats stats = trainer.train_step(poisoned, kCaptions);
  CHECK(stats.skipped);
  CHECK(std::isnan(stats.loss));
  CHECK(trainer.skipped_steps() == 1);
  CHECK(amax(trip::abs(trainer.model().unet->conv_in->weight - before)).item<double>() == 0);
  CHECK_FALSE(trainer.train_step(batch_of(2), kCaptions).skipped);  // recovers
  trainer.train_step(poisoned, kCaptions);
  trainer.train_step(poisoned, kCaptions);
  try {
    trainer.train_step(poisoned, kCaptions);
    FAIL("expected the run to stop");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("3 steps in a row") != std::string::npos);
  }
}

TEST_CASE("Trainer: warm-up lr per group, EMA weights in and out, bad batches") {
  Trainer trainer(micro_train_config(), micro_tokenizer());
  const StepStats s0 = trainer.train_step(batch_of(0), kCaptions);
  CHECK(s0.unet_lr == 0.0);  // lr(0) = 0 while warming up, as diffusers
  const StepStats s1 = trainer.train_step(batch_of(1), kCaptions);
  CHECK(s1.unet_lr == doctest::Approx(0.5e-3));
  CHECK(s1.tnf_lr == doctest::Approx(1e-3));
  CHECK(s1.grad_norm > 0);
  trainer.train_step(batch_of(2), kCaptions);
  const Tensor training = ops::clone(trainer.model().unet->conv_out->weight);
  REQUIRE(trainer.use_ema_weights());
  CHECK(amax(trip::abs(trainer.model().unet->conv_out->weight - training)).item<double>() > 0);
  CHECK_THROWS_AS(trainer.train_step(batch_of(3), kCaptions), Error);
  trainer.restore_training_weights();
  CHECK(amax(trip::abs(trainer.model().unet->conv_out->weight - training)).item<double>() == 0);
  CHECK_THROWS_AS(trainer.train_step(batch_of(3), {"only one caption"}), Error);
}

TEST_CASE("Trainer: resume refuses another run's checkpoint and changes nothing") {
  TempDir dir;
  Trainer a(micro_train_config(), micro_tokenizer());
  a.train_step(batch_of(0), kCaptions);
  a.save(dir.path + "/a.h5");
  TrainConfig other = micro_train_config();
  other.model.fusion = Fusion::linear;
  Trainer b(other, micro_tokenizer());
  CHECK_THROWS_AS(b.resume(dir.path + "/a.h5"), Error);
  Trainer c(micro_train_config(), WordTokenizer::build({"something else entirely"}));
  CHECK_THROWS_AS(c.resume(dir.path + "/a.h5"), Error);
  CHECK(c.step() == 0);
  CHECK_THROWS_AS(a.resume(dir.path + "/missing.h5"), Error);
  TrainConfig external = micro_train_config();
  external.model.internal_caption_encoder = false;
  CHECK_THROWS_WITH_AS(Trainer(external, micro_tokenizer()),
                       doctest::Contains("external text features"), Error);
}

TEST_CASE("TrainConfig: JSON round trip, presets, unknown and bad keys") {
  const TrainConfig c = micro_train_config();
  CHECK(TrainConfig::from_json(c.to_json()).to_json() == c.to_json());
  const TrainConfig ms = TrainConfig::from_json(R"({"preset": "modelscope"})");
  CHECK(ms.unet_lr == 2e-6);
  CHECK(ms.model.channels == 4);
  const TrainConfig tweaked =
      TrainConfig::from_json(R"({"steps": 30, "model": {"fusion": "none", "frames": 4}})");
  CHECK(tweaked.steps == 30);
  CHECK(tweaked.model.fusion == Fusion::none);
  CHECK(tweaked.model.frames == 4);
  auto error_of = [](const char* text) -> std::string {
    try {
      TrainConfig::from_json(text);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  CHECK(error_of(R"({"stepz": 3})").find("'stepz'") != std::string::npos);
  CHECK(error_of(R"({"steps": "many"})").find("'steps'") != std::string::npos);
  CHECK(error_of(R"({"lr_schedule": "step"})").find("lr_schedule") != std::string::npos);
  CHECK(error_of(R"({"model": {"unet": {"bogus": 1}}})").find("'unet.bogus'") != std::string::npos);
  CHECK(error_of(R"({"ema_decay": 1.5})").find("ema_decay") != std::string::npos);
  CHECK(error_of(R"({"timesteps": "cosine"})").find("timesteps must be uniform or logit_normal") !=
        std::string::npos);
  CHECK(error_of(R"({"timesteps": "logit_normal", "timestep_std": 0})").find("timestep_std > 0") !=
        std::string::npos);
  const TrainConfig middle = TrainConfig::from_json(R"({"timesteps": "logit_normal"})");
  CHECK(middle.timesteps == "logit_normal");
  CHECK(TrainConfig::from_json(middle.to_json()).timesteps == "logit_normal");
}
