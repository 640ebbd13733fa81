// defines: TRIP checkpoints: an HDF5 checkpoint (nn/io/checkpoint.h) whose config attribute holds
// the model's TripConfig and the caption vocabulary, so a file alone rebuilds the model that
// wrote it. The config attribute is a JSON object:
//   {"format": "trip.model", "model": {TripConfig keys}, "tokenizer": {WordTokenizer JSON} | null,
//    ...any further keys a trainer adds (kept as given)}
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "nn/state.h"
#include "trip/tokenizer.h"
#include "trip/trip_model.h"

namespace trip {

// The config JSON for a checkpoint of `model` (+ tokenizer); `extra` is a JSON object whose keys
// are added at the top level (e.g. the training configuration), "{}" for none.
std::string model_file_config(const TripModel& model, const WordTokenizer* tokenizer,
                              const std::string& extra = "{}");

// Writes the model's weights (and the given optimizer state and step) atomically.
void save_model_file(const std::string& path, const TripModel& model,
                     const WordTokenizer* tokenizer, const std::vector<nn::GroupState>& optimizer,
                     int64_t step, const std::string& extra = "{}");

struct LoadedModel {
  std::shared_ptr<TripModel> model;
  std::optional<WordTokenizer> tokenizer;
  nn::TrainingState state;  // everything in the file (weights, optimizer, step, rng, config)
};

// Rebuilds the model from the file's config and loads its weights strictly. Errors name the
// file: not a TRIP checkpoint, bad config, missing or unexpected weights.
LoadedModel load_model_file(const std::string& path);

}  // namespace trip
