#include "trip/trip_config.h"

#include <nlohmann/json.hpp>
#include <set>

#include "diffusion/schedule.h"
#include "tensor/error.h"

namespace trip {

using nlohmann::json;

std::string_view conditioning_name(Conditioning c) {
  switch (c) {
    case Conditioning::temporal_start:
      return "temporal_start";
    case Conditioning::temporal_end:
      return "temporal_end";
    case Conditioning::channel:
      return "channel";
  }
  return "?";
}

std::string_view fusion_name(Fusion f) {
  switch (f) {
    case Fusion::tnf:
      return "tnf";
    case Fusion::linear:
      return "linear";
    case Fusion::none:
      return "none";
  }
  return "?";
}

std::string_view prediction_name(Prediction p) {
  switch (p) {
    case Prediction::epsilon:
      return "epsilon";
    case Prediction::v:
      return "v";
  }
  return "?";
}

Conditioning conditioning_from_name(std::string_view name) {
  for (Conditioning c :
       {Conditioning::temporal_start, Conditioning::temporal_end, Conditioning::channel}) {
    if (name == conditioning_name(c)) return c;
  }
  fail("unknown conditioning '{}' (expected temporal_start, temporal_end or channel)", name);
}

Fusion fusion_from_name(std::string_view name) {
  for (Fusion f : {Fusion::tnf, Fusion::linear, Fusion::none}) {
    if (name == fusion_name(f)) return f;
  }
  fail("unknown fusion '{}' (expected tnf, linear or none)", name);
}

Prediction prediction_from_name(std::string_view name) {
  for (Prediction p : {Prediction::epsilon, Prediction::v}) {
    if (name == prediction_name(p)) return p;
  }
  fail("unknown prediction '{}' (expected epsilon or v)", name);
}

TripConfig TripConfig::tiny() { return TripConfig{}; }

TripConfig TripConfig::modelscope() {
  TripConfig c;
  c.preset = "modelscope";
  c.channels = 4;  // SD VAE latents at 256x256 / 8
  c.frames = 16;
  c.size = 32;
  c.sample_clip = 0.0;
  c.internal_caption_encoder = false;  // OpenCLIP ViT-H text features
  c.context_length = 77;
  c.unet = UNet3DConfig::modelscope();
  c.tnf.width = 256;
  return c;
}

TripConfig TripConfig::from_preset(std::string_view name) {
  if (name == "tiny") return tiny();
  if (name == "modelscope") return modelscope();
  fail("unknown preset '{}' (expected tiny or modelscope)", name);
}

UNet3DConfig TripConfig::unet_config() const {
  UNet3DConfig u = unet;
  u.in_channels = conditioning == Conditioning::channel ? 2 * channels : channels;
  u.out_channels = channels;
  return u;
}

TnfConfig TripConfig::tnf_config() const {
  TnfConfig t = tnf;
  t.channels = channels;
  return t;
}

CaptionEncoderConfig TripConfig::caption_config() const {
  CaptionEncoderConfig c = caption;
  c.width = unet.cross_attention_dim;
  c.max_length = context_length;
  return c;
}

void TripConfig::validate() const {
  TRIP_CHECK(channels >= 1 && frames >= 1 && size >= 1,
             "TripConfig: channels {}, frames {} and size {} must be positive", channels, frames,
             size);
  const int64_t factor = int64_t{1} << (unet.block_out_channels.size() - 1);
  TRIP_CHECK(size % factor == 0,
             "TripConfig: size {} must be a multiple of {} (the UNet halves it {} times)", size,
             factor, unet.block_out_channels.size() - 1);
  (void)diffusion::NoiseSchedule::from_name(schedule, train_timesteps);  // throws when invalid
  TRIP_CHECK(lambda_first >= 0 && lambda_first <= 1 && lambda_last >= 0 && lambda_last <= 1,
             "TripConfig: lambda_first {} and lambda_last {} must be in [0, 1]", lambda_first,
             lambda_last);
  TRIP_CHECK(sample_clip >= 0, "TripConfig: sample_clip must be >= 0, got {}", sample_clip);
  TRIP_CHECK(caption_dropout >= 0 && caption_dropout <= 1,
             "TripConfig: caption_dropout must be in [0, 1], got {}", caption_dropout);
  TRIP_CHECK(context_length >= 1, "TripConfig: context_length must be positive, got {}",
             context_length);
  unet_config().validate();
  if (fusion == Fusion::tnf) {
    TRIP_CHECK(tnf.width >= 4 && tnf.heads >= 1 && tnf.width % tnf.heads == 0,
               "TripConfig: tnf.width {} must be >= 4 and a multiple of tnf.heads {}", tnf.width,
               tnf.heads);
  }
  if (internal_caption_encoder) {
    TRIP_CHECK(
        caption.layers >= 1 && caption.heads >= 1 && unet.cross_attention_dim % caption.heads == 0,
        "TripConfig: caption encoder: {} layers, {} heads must divide width {}", caption.layers,
        caption.heads, unet.cross_attention_dim);
  }
}

namespace {

// Reads the keys of one JSON object into fields, remembering which were seen so that any key
// left over is reported as unknown.
class ObjectReader {
 public:
  ObjectReader(const json& object, std::string path) : object_(object), path_(std::move(path)) {
    TRIP_CHECK(object.is_object(), "config: {} must be a JSON object, got {}", where(""),
               object.type_name());
  }
  template <typename T>
  void read(const char* key, T& field) {
    seen_.insert(key);
    auto it = object_.find(key);
    if (it == object_.end()) return;
    try {
      field = it->template get<T>();
    } catch (const json::exception&) {
      fail("config: {} has the wrong type ({})", where(key), it->type_name());
    }
  }
  const json* child(const char* key) {
    seen_.insert(key);
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }
  void reject_unknown() const {
    for (const auto& [key, value] : object_.items()) {
      TRIP_CHECK(seen_.count(key) == 1, "config: unknown key {}", where(key));
    }
  }
  std::string where(std::string_view key) const {
    if (key.empty()) return path_.empty() ? "the top level" : "'" + path_ + "'";
    return "'" + (path_.empty() ? std::string(key) : path_ + "." + std::string(key)) + "'";
  }

 private:
  const json& object_;
  std::string path_;
  std::set<std::string> seen_;
};

json unet_to_json(const UNet3DConfig& u) {
  return {{"block_out_channels", u.block_out_channels},
          {"down_block_types", u.down_block_types},
          {"up_block_types", u.up_block_types},
          {"layers_per_block", u.layers_per_block},
          {"norm_num_groups", u.norm_num_groups},
          {"attention_head_dim", u.attention_head_dim},
          {"cross_attention_dim", u.cross_attention_dim},
          {"norm_eps", u.norm_eps},
          {"dropout", u.dropout},
          {"temporal_dropout", u.temporal_dropout},
          {"gradient_checkpointing", u.gradient_checkpointing},
          {"frame_position_embedding", u.frame_position_embedding}};
}

void unet_from_json(const json& j, UNet3DConfig& u) {
  ObjectReader r(j, "unet");
  r.read("block_out_channels", u.block_out_channels);
  r.read("down_block_types", u.down_block_types);
  r.read("up_block_types", u.up_block_types);
  r.read("layers_per_block", u.layers_per_block);
  r.read("norm_num_groups", u.norm_num_groups);
  r.read("attention_head_dim", u.attention_head_dim);
  r.read("cross_attention_dim", u.cross_attention_dim);
  r.read("norm_eps", u.norm_eps);
  r.read("dropout", u.dropout);
  r.read("temporal_dropout", u.temporal_dropout);
  r.read("gradient_checkpointing", u.gradient_checkpointing);
  r.read("frame_position_embedding", u.frame_position_embedding);
  r.reject_unknown();
}

}  // namespace

std::string TripConfig::to_json() const {
  json j = {
      {"preset", preset},
      {"channels", channels},
      {"frames", frames},
      {"size", size},
      {"schedule", schedule},
      {"train_timesteps", train_timesteps},
      {"conditioning", conditioning_name(conditioning)},
      {"fusion", fusion_name(fusion)},
      {"prediction", prediction_name(prediction)},
      {"lambda_first", lambda_first},
      {"lambda_last", lambda_last},
      {"sample_clip", sample_clip},
      {"caption_dropout", caption_dropout},
      {"internal_caption_encoder", internal_caption_encoder},
      {"context_length", context_length},
      {"unet", unet_to_json(unet)},
      {"tnf", {{"width", tnf.width}, {"heads", tnf.heads}, {"eps", tnf.eps}}},
      {"caption",
       {{"vocab_size", caption.vocab_size}, {"layers", caption.layers}, {"heads", caption.heads}}}};
  return j.dump(2);
}

TripConfig TripConfig::from_json(std::string_view text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    fail("config: not valid JSON: {}", e.what());
  }
  ObjectReader top(j, "");
  std::string preset_name = "tiny";
  top.read("preset", preset_name);
  TripConfig c = from_preset(preset_name);
  top.read("channels", c.channels);
  top.read("frames", c.frames);
  top.read("size", c.size);
  top.read("schedule", c.schedule);
  top.read("train_timesteps", c.train_timesteps);
  std::string conditioning(conditioning_name(c.conditioning)), fusion(fusion_name(c.fusion));
  top.read("conditioning", conditioning);
  top.read("fusion", fusion);
  c.conditioning = conditioning_from_name(conditioning);
  c.fusion = fusion_from_name(fusion);
  std::string prediction(prediction_name(c.prediction));
  top.read("prediction", prediction);
  c.prediction = prediction_from_name(prediction);
  top.read("lambda_first", c.lambda_first);
  top.read("lambda_last", c.lambda_last);
  top.read("sample_clip", c.sample_clip);
  top.read("caption_dropout", c.caption_dropout);
  top.read("internal_caption_encoder", c.internal_caption_encoder);
  top.read("context_length", c.context_length);
  if (const json* u = top.child("unet")) unet_from_json(*u, c.unet);
  if (const json* t = top.child("tnf")) {
    ObjectReader r(*t, "tnf");
    r.read("width", c.tnf.width);
    r.read("heads", c.tnf.heads);
    r.read("eps", c.tnf.eps);
    r.reject_unknown();
  }
  if (const json* cap = top.child("caption")) {
    ObjectReader r(*cap, "caption");
    r.read("vocab_size", c.caption.vocab_size);
    r.read("layers", c.caption.layers);
    r.read("heads", c.caption.heads);
    r.reject_unknown();
  }
  top.reject_unknown();
  c.validate();
  return c;
}

}  // namespace trip
