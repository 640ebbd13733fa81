#include "trip/model_file.h"

#include <nlohmann/json.hpp>

#include "nn/io/checkpoint.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace trip {

using nlohmann::json;

std::string model_file_config(const TripModel& model, const WordTokenizer* tokenizer,
                              const std::string& extra) {
  json config;
  try {
    config = json::parse(extra);
  } catch (const json::parse_error& e) {
    fail("model_file_config: extra config is not valid JSON: {}", e.what());
  }
  TRIP_CHECK(config.is_object(), "model_file_config: extra config must be a JSON object");
  config["format"] = "trip.model";
  config["model"] = json::parse(model.config().to_json());
  config["tokenizer"] = tokenizer ? json::parse(tokenizer->to_json()) : json(nullptr);
  return config.dump();
}

void save_model_file(const std::string& path, const TripModel& model,
                     const WordTokenizer* tokenizer, const std::vector<nn::GroupState>& optimizer,
                     int64_t step, const std::string& extra) {
  nn::TrainingState state;
  state.model = model.state_dict();
  state.optimizer = optimizer;
  state.step = step;
  state.config_json = model_file_config(model, tokenizer, extra);
  state.rng = ops::default_generator();
  nn::save_checkpoint(path, state);
}

LoadedModel load_model_file(const std::string& path) {
  LoadedModel out;
  out.state = nn::load_checkpoint(path);
  json config;
  try {
    config = json::parse(out.state.config_json);
  } catch (const json::parse_error& e) {
    fail("{}: the checkpoint's config is not valid JSON: {}", path, e.what());
  }
  TRIP_CHECK(
      config.is_object() && config.value("format", "") == "trip.model" && config.contains("model"),
      "{}: not a TRIP model checkpoint (its config has no \"format\": \"trip.model\" and "
      "\"model\")",
      path);
  try {
    const TripConfig model_config = TripConfig::from_json(config["model"].dump());
    if (config.contains("tokenizer") && !config["tokenizer"].is_null()) {
      out.tokenizer = WordTokenizer::from_json(config["tokenizer"].dump());
    }
    out.model = std::make_shared<TripModel>(model_config);
    out.model->load_state_dict(out.state.model, /*strict=*/true);
  } catch (const Error& e) {
    fail("{}: {}", path, e.what());
  }
  return out;
}

}  // namespace trip
