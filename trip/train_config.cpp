#include "trip/train_config.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "nn/optim/schedule.h"
#include "tensor/error.h"

namespace trip {

using nlohmann::json;

TrainConfig TrainConfig::tiny() { return TrainConfig{}; }

TrainConfig TrainConfig::modelscope() {
  TrainConfig c;
  c.model = TripConfig::modelscope();
  c.steps = 100000;
  c.batch = 1;       // per GPU in the paper (8 GPUs)
  c.unet_lr = 2e-6;  // fine-tuning ModelScope's UNet (TRIP.md section 5)
  c.tnf_lr = 2e-4;
  c.warmup_steps = 500;
  c.ema_decay = 0.9999;
  c.checkpoint_every = 1000;
  c.log_every = 50;
  return c;
}

TrainConfig TrainConfig::from_preset(std::string_view name) {
  if (name == "tiny") return tiny();
  if (name == "modelscope") return modelscope();
  fail("unknown preset '{}' (expected tiny or modelscope)", name);
}

double TrainConfig::lr_at(std::string_view group, int64_t step) const {
  TRIP_CHECK(group == "unet" || group == "tnf", "TrainConfig: unknown group '{}'", group);
  const double base = group == "unet" ? unet_lr : tnf_lr;
  if (lr_schedule == "cosine") {
    return nn::cosine_with_warmup(step, base, warmup_steps, steps, base * min_lr_fraction);
  }
  return nn::constant_with_warmup(step, base, warmup_steps);
}

void TrainConfig::validate() const {
  model.validate();
  TRIP_CHECK(steps >= 1 && batch >= 1, "TrainConfig: steps {} and batch {} must be positive", steps,
             batch);
  TRIP_CHECK(unet_lr >= 0 && tnf_lr >= 0 && weight_decay >= 0 && grad_clip >= 0,
             "TrainConfig: unet_lr {}, tnf_lr {}, weight_decay {}, grad_clip {} must be >= 0",
             unet_lr, tnf_lr, weight_decay, grad_clip);
  TRIP_CHECK(lr_schedule == "constant" || lr_schedule == "cosine",
             "TrainConfig: lr_schedule must be constant or cosine, got '{}'", lr_schedule);
  TRIP_CHECK(warmup_steps >= 0 && min_lr_fraction >= 0 && min_lr_fraction <= 1,
             "TrainConfig: warmup_steps {} must be >= 0 and min_lr_fraction {} in [0, 1]",
             warmup_steps, min_lr_fraction);
  TRIP_CHECK(snr_floor >= 0 && snr_gamma >= 0 && std::isfinite(snr_floor) &&
                 std::isfinite(snr_gamma) && (snr_gamma == 0 || snr_floor <= snr_gamma),
             "TrainConfig: need 0 <= snr_floor <= snr_gamma (0: off), got snr_floor {} and "
             "snr_gamma {}",
             snr_floor, snr_gamma);
  TRIP_CHECK(timesteps == "uniform" || timesteps == "logit_normal",
             "TrainConfig: timesteps must be uniform or logit_normal, got '{}'", timesteps);
  TRIP_CHECK(std::isfinite(timestep_mean) && std::isfinite(timestep_std) && timestep_std > 0,
             "TrainConfig: need a finite timestep_mean and timestep_std > 0, got {} and {}",
             timestep_mean, timestep_std);
  TRIP_CHECK(ema_decay >= 0 && ema_decay < 1, "TrainConfig: ema_decay must be in [0, 1), got {}",
             ema_decay);
  TRIP_CHECK(max_bad_steps >= 1, "TrainConfig: max_bad_steps must be >= 1, got {}", max_bad_steps);
  TRIP_CHECK(fps > 0, "TrainConfig: fps must be positive, got {}", fps);
  TRIP_CHECK(eval_every >= 2,
             "TrainConfig: eval_every must be >= 2 (every k-th video held out), got {}",
             eval_every);
  TRIP_CHECK(vocab_max >= 3, "TrainConfig: vocab_max must be >= 3, got {}", vocab_max);
  TRIP_CHECK(checkpoint_every >= 1 && keep_checkpoints >= 1 && log_every >= 1,
             "TrainConfig: checkpoint_every {}, keep_checkpoints {}, log_every {} must be >= 1",
             checkpoint_every, keep_checkpoints, log_every);
}

namespace {

// The key names of TrainConfig, each with its member: one table serves both directions.
template <typename F>
void for_each_scalar(TrainConfig& c, F&& f) {
  f("steps", c.steps);
  f("batch", c.batch);
  f("unet_lr", c.unet_lr);
  f("tnf_lr", c.tnf_lr);
  f("lr_schedule", c.lr_schedule);
  f("warmup_steps", c.warmup_steps);
  f("min_lr_fraction", c.min_lr_fraction);
  f("weight_decay", c.weight_decay);
  f("grad_clip", c.grad_clip);
  f("snr_floor", c.snr_floor);
  f("snr_gamma", c.snr_gamma);
  f("timesteps", c.timesteps);
  f("timestep_mean", c.timestep_mean);
  f("timestep_std", c.timestep_std);
  f("ema_decay", c.ema_decay);
  f("max_bad_steps", c.max_bad_steps);
  f("seed", c.seed);
  f("fps", c.fps);
  f("eval_every", c.eval_every);
  f("vocab_max", c.vocab_max);
  f("checkpoint_every", c.checkpoint_every);
  f("keep_checkpoints", c.keep_checkpoints);
  f("log_every", c.log_every);
}

}  // namespace

std::string TrainConfig::to_json() const {
  json j;
  j["preset"] = model.preset;
  TrainConfig copy = *this;
  for_each_scalar(copy, [&](const char* key, auto& value) { j[key] = value; });
  j["model"] = json::parse(model.to_json());
  return j.dump(2);
}

TrainConfig TrainConfig::from_json(std::string_view text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    fail("config: not valid JSON: {}", e.what());
  }
  TRIP_CHECK(j.is_object(), "config: the top level must be a JSON object, got {}", j.type_name());
  std::string preset = "tiny";
  if (j.contains("preset")) {
    TRIP_CHECK(j["preset"].is_string(), "config: 'preset' must be a string");
    preset = j["preset"].get<std::string>();
  }
  TrainConfig c = from_preset(preset);
  std::set<std::string> known = {"preset", "model"};
  for_each_scalar(c, [&](const char* key, auto& value) {
    known.insert(key);
    if (!j.contains(key)) return;
    try {
      value = j[key].get<std::decay_t<decltype(value)>>();
    } catch (const json::exception&) {
      fail("config: '{}' has the wrong type ({})", key, j[key].type_name());
    }
  });
  for (const auto& [key, value] : j.items()) {
    TRIP_CHECK(known.count(key) == 1, "config: unknown key '{}'", key);
  }
  if (j.contains("model")) {
    json model = j["model"];
    TRIP_CHECK(model.is_object(), "config: 'model' must be a JSON object");
    if (!model.contains("preset")) model["preset"] = preset;
    c.model = TripConfig::from_json(model.dump());
  }
  c.validate();
  return c;
}

}  // namespace trip
