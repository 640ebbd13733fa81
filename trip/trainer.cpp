#include "trip/trainer.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "autograd/grad_mode.h"
#include "diffusion/forward.h"
#include "nn/io/checkpoint.h"
#include "nn/optim/clip.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "trip/model_file.h"

namespace trip {

using nlohmann::json;

namespace {

TrainConfig with_vocabulary(TrainConfig config, const WordTokenizer& tokenizer) {
  // Checked before any model is built, not at the first step.
  TRIP_CHECK(config.model.internal_caption_encoder,
             "Trainer: not implemented: training with external text features (preset {}); the "
             "trainer feeds captions through the internal caption encoder",
             config.model.preset);
  config.model.caption.vocab_size = tokenizer.vocab_size();
  config.validate();
  return config;
}

}  // namespace

Trainer::Trainer(const TrainConfig& config, WordTokenizer tokenizer)
    : config_(with_vocabulary(config, tokenizer)),
      tokenizer_(std::move(tokenizer)),
      gen_{config_.seed ^ 0x7452495054524149ull, 0} {
  manual_seed(config_.seed);  // initial weights; dropout draws from here on
  model_ = std::make_shared<TripModel>(config_.model);
  optimizer_ = std::make_unique<nn::AdamW>(
      model_->parameter_groups(config_.unet_lr, config_.tnf_lr, config_.weight_decay));
  if (config_.ema_decay > 0) {
    ema_ = std::make_unique<nn::EMA>(model_->named_parameters(), config_.ema_decay);
  }
}

Tensor Trainer::caption_ids(const std::vector<std::string>& captions) const {
  return tokenizer_.encode_batch(captions, config_.model.context_length).ids;
}

StepStats Trainer::train_step(const Tensor& clips, const std::vector<std::string>& captions) {
  const int64_t B = clips.size(0);
  TRIP_CHECK(static_cast<int64_t>(captions.size()) == B,
             "train_step: {} captions for a batch of {} clips", captions.size(), B);
  TRIP_CHECK(saved_weights_.empty(),
             "train_step: the EMA weights are in the model; call "
             "restore_training_weights() first");
  StepStats stats;
  stats.unet_lr = config_.lr_at("unet", step_);
  stats.tnf_lr = config_.lr_at("tnf", step_);
  optimizer_->set_lr("unet", stats.unet_lr);
  if (model_->tnf) optimizer_->set_lr("tnf", stats.tnf_lr);

  // Caption dropout for classifier-free guidance (TRIP.md section 5: 10%).
  const std::vector<float> coins = ops::rand({B}, DType::f32, &gen_).to_vector<float>();
  std::vector<std::string> used = captions;
  for (int64_t b = 0; b < B; ++b) {
    if (coins[static_cast<size_t>(b)] < config_.model.caption_dropout) used[size_t(b)].clear();
  }
  const Tensor t =
      config_.timesteps == "logit_normal"
          ? diffusion::sample_timesteps_logit_normal(B, model_->schedule(), config_.timestep_mean,
                                                     config_.timestep_std, &gen_, clips.device())
          : diffusion::sample_timesteps(B, model_->schedule(), &gen_, clips.device());
  const Tensor noise =
      ops::randn(clips.shape(), TensorOptions(clips.dtype(), clips.device()), &gen_);
  const Tensor context = model_->encode_captions(ops::to(caption_ids(used), clips.device()));
  const Tensor loss =
      model_->loss(clips, t, noise, context, {config_.snr_floor, config_.snr_gamma});
  stats.loss = loss.item<double>();
  bool finite = std::isfinite(stats.loss);
  if (finite) {
    loss.backward();
    const nn::NamedTensors params = model_->named_parameters();
    try {
      stats.grad_norm = nn::clip_grad_norm(
          params, config_.grad_clip > 0 ? config_.grad_clip : std::numeric_limits<double>::max());
    } catch (const Error&) {  // a non-finite gradient: skip the update like a non-finite loss
      finite = false;
      stats.grad_norm = std::nan("");
    }
  }
  if (!finite) {
    optimizer_->zero_grad();
    stats.skipped = true;
    ++skipped_total_;
    ++step_;
    stats.step = step_;
    TRIP_CHECK(++bad_in_a_row_ <= config_.max_bad_steps,
               "training stopped: {} steps in a row had a non-finite loss or gradient (last at "
               "step {}, loss {}); lower the learning rate or check the data",
               bad_in_a_row_, step_, stats.loss);
    return stats;
  }
  bad_in_a_row_ = 0;
  optimizer_->step();
  optimizer_->zero_grad();
  if (ema_) ema_->update(model_->named_parameters());
  ++step_;
  stats.step = step_;
  return stats;
}

void Trainer::save(const std::string& path, const std::string& extra) const {
  TRIP_CHECK(saved_weights_.empty(), "Trainer::save: restore the training weights first");
  json run = json::parse(extra);
  TRIP_CHECK(run.is_object(), "Trainer::save: extra must be a JSON object");
  run["train"] = json::parse(config_.to_json());
  run["trainer"] = {{"gen_seed", gen_.seed},
                    {"gen_offset", gen_.offset},
                    {"bad_in_a_row", bad_in_a_row_},
                    {"skipped_total", skipped_total_}};
  nn::TrainingState state;
  state.model = model_->state_dict();
  state.optimizer = optimizer_->export_state();
  state.step = step_;
  state.config_json = model_file_config(*model_, &tokenizer_, run.dump());
  state.rng = ops::default_generator();
  if (ema_) {
    state.ema = ema_->state();
    state.ema_updates = ema_->num_updates();
  }
  nn::save_checkpoint(path, state);
}

std::string Trainer::resume(const std::string& path) {
  nn::TrainingState state = nn::load_checkpoint(path);
  json run;
  try {
    run = json::parse(state.config_json);
  } catch (const json::parse_error&) {
    fail("resume {}: the checkpoint's config is not valid JSON", path);
  }
  TRIP_CHECK(run.is_object() && run.contains("train") && run.contains("trainer"),
             "resume {}: not a checkpoint of a training run (no train/trainer state)", path);
  const TrainConfig saved = TrainConfig::from_json(run["train"].dump());
  TRIP_CHECK(saved.model.to_json() == config_.model.to_json(),
             "resume {}: the checkpoint's model config differs from this run's", path);
  TRIP_CHECK(
      run.contains("tokenizer") && WordTokenizer::from_json(run["tokenizer"].dump()) == tokenizer_,
      "resume {}: the checkpoint's caption vocabulary differs from this run's", path);
  TRIP_CHECK(!ema_ || static_cast<int64_t>(state.ema.size()) ==
                          static_cast<int64_t>(model_->named_parameters().size()),
             "resume {}: the checkpoint has no EMA weights but this run uses EMA", path);
  // Everything that can fail on names/shapes is checked by these calls before they write.
  model_->load_state_dict(state.model, /*strict=*/true);
  optimizer_->import_state(state.optimizer);
  if (ema_) ema_->load_state(state.ema, state.ema_updates);
  step_ = state.step;
  ops::default_generator() = state.rng;
  const json& trainer = run["trainer"];
  gen_.seed = trainer.at("gen_seed").get<uint64_t>();
  gen_.offset = trainer.at("gen_offset").get<uint64_t>();
  bad_in_a_row_ = trainer.at("bad_in_a_row").get<int64_t>();
  skipped_total_ = trainer.at("skipped_total").get<int64_t>();
  run.erase("train");
  run.erase("trainer");
  run.erase("format");
  run.erase("model");
  run.erase("tokenizer");
  return run.dump();
}

bool Trainer::use_ema_weights() {
  if (!ema_ || !saved_weights_.empty()) return false;
  NoGradGuard no_grad;
  for (const auto& [name, p] : model_->named_parameters()) {
    saved_weights_.emplace_back(name, ops::clone(p));
  }
  ema_->copy_to(model_->named_parameters());
  return true;
}

void Trainer::restore_training_weights() {
  if (saved_weights_.empty()) return;
  NoGradGuard no_grad;
  model_->load_state_dict(saved_weights_, /*strict=*/true);
  saved_weights_.clear();
}

}  // namespace trip
