// TripModel (TRIP.md sections 2-6): the nine conditioning x fusion variants, the config's JSON,
// sampling, parameter groups.
#include <doctest/doctest.h>

#include <unistd.h>
#include "autograd/functions.h"
#include "diffusion/forward.h"
#include "tensor/error.h"
#include "tensor/ops.h"

#include <cmath>
#include <filesystem>

#include "nn/io/checkpoint.h"
#include "trip/model_file.h"
#include "trip/noise_prior.h"
#include "trip/trip_model.h"
#include "trip_micro.h"

using namespace trip;

namespace {

using testing::micro_config;

Tensor caption_ids(int64_t batch, int64_t length) {
  std::vector<int64_t> ids;
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < length; ++i) ids.push_back(i == 0 ? 2 : (i < 3 ? 3 + b + i : 0));
  }
  return from_vector(ids, {batch, length}, DType::i64);
}

}  // namespace

TEST_CASE("TripModel: every conditioning x fusion variant trains end to end") {
  for (Conditioning cond :
       {Conditioning::temporal_start, Conditioning::temporal_end, Conditioning::channel}) {
    for (Fusion fusion : {Fusion::tnf, Fusion::linear, Fusion::none}) {
      CAPTURE(conditioning_name(cond));
      CAPTURE(fusion_name(fusion));
      manual_seed(1);
      TripModel model(micro_config(cond, fusion));
      // Zero-initialised layers (the last conv of each temporal conv block) would stop the
      // gradient of the layers before them: give them small random values first.
      for (const auto& [name, p] : model.named_parameters()) {
        if (amax(trip::abs(p)).item<double>() == 0 && name.find("norm") == std::string::npos) {
          ops::copy_(p, ops::randn(p.shape()) * 0.1);
        }
      }
      CHECK(model.unet->config().in_channels == (cond == Conditioning::channel ? 4 : 2));
      CHECK((model.tnf != nullptr) == (fusion == Fusion::tnf));
      const Tensor clip = ops::randn({2, 2, 3, 8, 8});
      const Tensor noise = ops::randn({2, 2, 3, 8, 8});
      const Tensor t = from_vector<int64_t>({3, 700}, {2}, DType::i64);
      const Tensor context = model.encode_captions(caption_ids(2, 4));
      const Tensor z_t = diffusion::q_sample(model.schedule(), clip, t, noise);
      const Tensor eps = model.predict_noise(z_t, t, ops::select(clip, 2, 0), context);
      CHECK(eps.shape() == Dims({2, 2, 3, 8, 8}));
      const Tensor loss = model.loss(clip, t, noise, context);
      CHECK(std::isfinite(loss.item<double>()));
      loss.backward();
      int64_t without_grad = 0;
      for (const auto& [name, p] : model.named_parameters()) {
        if (!p.grad().defined() || amax(trip::abs(p.grad())).item<double>() == 0) {
          ++without_grad;
          MESSAGE("no gradient: " << name);
        }
      }
      CHECK(without_grad == 0);
    }
  }
}

TEST_CASE("TripModel: linear fusion (TRIP^W) weights the prior from lambda_first to lambda_last") {
  manual_seed(2);
  TripConfig config = micro_config(Conditioning::temporal_start, Fusion::linear);
  config.lambda_first = 1.0;
  config.lambda_last = 0.0;
  TripModel model(config);
  const Tensor z_t = ops::randn({1, 2, 3, 8, 8}), first = ops::randn({1, 2, 8, 8});
  const Tensor t = from_vector<int64_t>({400}, {1}, DType::i64);
  const Tensor context = model.encode_captions(caption_ids(1, 4));
  const Tensor eps = model.predict_noise(z_t, t, first, context);
  const Tensor prior = image_noise_prior(z_t, first, t, model.schedule());
  const Tensor residual = model.residual_noise(z_t, t, first, context);
  CHECK(amax(trip::abs(select(eps, 2, 0) - select(prior, 2, 0))).item<double>() < 1e-6);
  CHECK(amax(trip::abs(select(eps, 2, 1) - 0.5 * (select(prior, 2, 1) + select(residual, 2, 1))))
            .item<double>() < 1e-5);
  CHECK(amax(trip::abs(select(eps, 2, 2) - select(residual, 2, 2))).item<double>() < 1e-6);
}

TEST_CASE("TripModel: prediction v turns the UNet's output into the noise it stands for") {
  TripConfig config = micro_config(Conditioning::temporal_start, Fusion::none);
  manual_seed(5);
  TripModel by_epsilon(config);
  config.prediction = Prediction::v;
  manual_seed(5);
  TripModel by_v(config);  // the same weights: only the meaning of the output differs
  const Tensor z_t = ops::randn({2, 2, 3, 8, 8}), first = ops::randn({2, 2, 8, 8});
  const Tensor t = from_vector<int64_t>({20, 900}, {2}, DType::i64);
  const Tensor context = by_epsilon.encode_captions(caption_ids(2, 4));
  const Tensor out = by_epsilon.residual_noise(z_t, t, first, context);
  REQUIRE(amax(trip::abs(out)).item<double>() > 1e-3);
  const Tensor residual = by_v.residual_noise(z_t, t, first, context);
  for (int64_t b = 0; b < 2; ++b) {
    const double ab = by_v.schedule().alpha_bar(b == 0 ? 20 : 900);
    const Tensor want = std::sqrt(1.0 - ab) * select(z_t, 0, b) + std::sqrt(ab) * select(out, 0, b);
    CHECK(amax(trip::abs(select(residual, 0, b) - want)).item<double>() < 1e-5);
  }
  // TRIP^- returns the residual as the noise estimate, and the v model trains end to end.
  CHECK(amax(trip::abs(by_v.predict_noise(z_t, t, first, context) - residual)).item<double>() ==
        0.0);
  const Tensor loss = by_v.loss(ops::randn({2, 2, 3, 8, 8}), t, ops::randn({2, 2, 3, 8, 8}),
                                context, {.floor = 1.0, .gamma = 0.0});
  CHECK(std::isfinite(loss.item<double>()));
  loss.backward();
  CHECK(amax(trip::abs(by_v.unet->conv_in->weight.grad())).item<double>() > 0);
}

TEST_CASE("TripModel: sampling is deterministic for a seed, with and without guidance") {
  manual_seed(3);
  TripModel model(micro_config(Conditioning::temporal_start, Fusion::tnf));
  const Tensor first = trip::clamp(ops::randn({2, 2, 8, 8}), -1, 1);
  const Tensor context = model.encode_captions(caption_ids(2, 4));
  int calls = 0;
  SampleOptions options;
  options.steps = 4;
  options.seed = 9;
  options.progress = [&](int, int) { ++calls; };
  const Tensor a = model.sample(first, context, options);
  CHECK(calls == 4);
  CHECK(a.shape() == Dims({2, 2, 3, 8, 8}));
  CHECK(model.is_training());  // the mode is restored
  CHECK(std::isfinite(amax(trip::abs(a)).item<double>()));
  const Tensor b = model.sample(first, context, options);
  CHECK(amax(trip::abs(a - b)).item<double>() == 0.0);
  options.guidance = 3.0;
  const Tensor guided = model.sample(first, context, options);
  CHECK(guided.shape() == a.shape());
  CHECK(amax(trip::abs(guided - a)).item<double>() > 0);
  CHECK_THROWS_AS(model.sample(ops::randn({2, 3, 8, 8}), context, options), Error);
}

TEST_CASE("TripModel: parameter groups and bad inputs") {
  manual_seed(4);
  TripModel model(micro_config(Conditioning::temporal_start, Fusion::tnf));
  const auto groups = model.parameter_groups(1e-4, 2e-4);
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].name == "unet");
  CHECK(groups[1].name == "tnf");
  CHECK(groups[1].lr == 2e-4);
  CHECK(groups[0].params.size() + groups[1].params.size() == model.named_parameters().size());
  for (const auto& [name, p] : groups[1].params) CHECK(name.rfind("tnf.", 0) == 0);
  const Tensor context = model.encode_captions(caption_ids(1, 4));
  const Tensor t = from_vector<int64_t>({10}, {1}, DType::i64);
  CHECK_THROWS_AS(
      model.predict_noise(ops::randn({1, 3, 3, 8, 8}), t, ops::randn({1, 3, 8, 8}), context),
      Error);
  CHECK_THROWS_AS(
      model.predict_noise(ops::randn({1, 2, 3, 8, 8}), t, ops::randn({1, 2, 4, 8}), context),
      Error);
  CHECK_THROWS_AS(model.predict_noise(ops::randn({1, 2, 3, 8, 8}), ops::zeros({1}),
                                      ops::randn({1, 2, 8, 8}), context),
                  Error);
  TripConfig no_vocab = micro_config(Conditioning::temporal_start, Fusion::tnf);
  no_vocab.caption.vocab_size = 0;
  CHECK_THROWS_AS(TripModel{no_vocab}, Error);
}

TEST_CASE("TripConfig: JSON round trip, presets, unknown keys and bad values") {
  TripConfig c = micro_config(Conditioning::channel, Fusion::linear);
  c.lambda_last = 0.25;
  const TripConfig back = TripConfig::from_json(c.to_json());
  CHECK(back.to_json() == c.to_json());
  CHECK(back.conditioning == Conditioning::channel);
  CHECK(back.unet.block_out_channels == std::vector<int64_t>{8, 16});

  const TripConfig ms = TripConfig::from_json(R"({"preset": "modelscope"})");
  CHECK(ms.channels == 4);
  CHECK(ms.frames == 16);
  CHECK(ms.unet.block_out_channels == std::vector<int64_t>{320, 640, 1280, 1280});
  CHECK_FALSE(ms.internal_caption_encoder);

  auto error_of = [](const char* text) -> std::string {
    try {
      TripConfig::from_json(text);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  CHECK(error_of(R"({"framez": 8})").find("'framez'") != std::string::npos);
  CHECK(error_of(R"({"unet": {"layers": 2}})").find("'unet.layers'") != std::string::npos);
  CHECK(error_of(R"({"frames": "eight"})").find("'frames'") != std::string::npos);
  CHECK(error_of(R"({"fusion": "sum"})").find("unknown fusion 'sum'") != std::string::npos);
  CHECK(
      error_of(R"({"prediction": "x0"})").find("unknown prediction 'x0' (expected epsilon or v)") !=
      std::string::npos);
  CHECK(TripConfig::from_json(R"({"prediction": "v"})").prediction == Prediction::v);
  CHECK(TripConfig::from_json("{}").prediction == Prediction::epsilon);  // old files: the paper's
  CHECK(error_of(R"({"preset": "huge"})").find("unknown preset") != std::string::npos);
  CHECK(error_of(R"({"size": 30})").find("multiple of 4") != std::string::npos);
  CHECK(error_of("{not json").find("not valid JSON") != std::string::npos);
  CHECK(error_of("[1, 2]").find("JSON object") != std::string::npos);
}

TEST_CASE("TRIP model files rebuild the model, its vocabulary and its outputs") {
  char dir[] = "/tmp/trip_model_test.XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string path = std::string(dir) + "/model.h5";
  manual_seed(6);
  TripConfig config = micro_config(Conditioning::temporal_end, Fusion::tnf);
  const WordTokenizer tokenizer = WordTokenizer::build({"a red circle", "a blue square"});
  config.caption.vocab_size = tokenizer.vocab_size();
  TripModel model(config);
  save_model_file(path, model, &tokenizer, {}, 42, R"({"train": {"steps": 7}})");

  const LoadedModel loaded = load_model_file(path);
  CHECK(loaded.state.step == 42);
  CHECK(loaded.model->config().to_json() == config.to_json());
  REQUIRE(loaded.tokenizer.has_value());
  CHECK(*loaded.tokenizer == tokenizer);
  CHECK(loaded.state.config_json.find("\"train\"") != std::string::npos);
  const Tensor z_t = ops::randn({1, 2, 3, 8, 8}), first = ops::randn({1, 2, 8, 8});
  const Tensor t = from_vector<int64_t>({123}, {1}, DType::i64);
  const Tensor ids = from_vector(tokenizer.encode("a red square", 4), {1, 4}, DType::i64);
  model.eval();
  loaded.model->eval();
  const Tensor a = model.predict_noise(z_t, t, first, model.encode_captions(ids));
  const Tensor b = loaded.model->predict_noise(z_t, t, first, loaded.model->encode_captions(ids));
  CHECK(amax(trip::abs(a - b)).item<double>() == 0.0);

  // A checkpoint that is not a TRIP model file is refused with the path in the message.
  const std::string other = std::string(dir) + "/other.h5";
  nn::TrainingState plain;
  plain.model = model.state_dict();
  nn::save_checkpoint(other, plain);
  try {
    load_model_file(other);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("not a TRIP model checkpoint") != std::string::npos);
    CHECK(std::string(e.what()).find(other) != std::string::npos);
  }
  CHECK_THROWS_AS(load_model_file(std::string(dir) + "/missing.h5"), Error);
  std::filesystem::remove_all(dir);
}
