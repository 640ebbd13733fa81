#include "trip/trip_model.h"

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "diffusion/ddim.h"
#include "diffusion/forward.h"
#include "diffusion/guidance.h"
#include "tensor/error.h"
#include "trip/noise_prior.h"
#include "trip/tokenizer.h"

namespace trip {

namespace {

// Restores a module's train/eval mode when leaving a scope.
class ModeRestorer {
 public:
  ModeRestorer(nn::Module& module, bool training) : module_(module), was_(module.is_training()) {
    module_.train(training);
  }
  ~ModeRestorer() { module_.train(was_); }
  ModeRestorer(const ModeRestorer&) = delete;
  ModeRestorer& operator=(const ModeRestorer&) = delete;

 private:
  nn::Module& module_;
  bool was_;
};

}  // namespace

TripModel::TripModel(const TripConfig& config)
    : nn::Module("TripModel"),
      config_(config),
      schedule_(diffusion::NoiseSchedule::from_name(config.schedule, config.train_timesteps)) {
  config_.validate();
  unet = register_module("unet", std::make_shared<UNet3D>(config_.unet_config()));
  if (config_.fusion == Fusion::tnf) {
    tnf = register_module("tnf", std::make_shared<TemporalNoiseFusion>(config_.tnf_config()));
  }
  if (config_.internal_caption_encoder) {
    TRIP_CHECK(config_.caption.vocab_size >= 3,
               "TripModel: the internal caption encoder needs caption.vocab_size (from the "
               "tokenizer, at least 3), got {}",
               config_.caption.vocab_size);
    caption_encoder = register_module("caption_encoder",
                                      std::make_shared<CaptionEncoder>(config_.caption_config()));
  }
}

Tensor TripModel::encode_captions(const Tensor& ids) const {
  TRIP_CHECK(caption_encoder != nullptr,
             "TripModel: encode_captions needs the internal caption encoder; this model takes "
             "external context features");
  return caption_encoder->forward(ids);
}

Tensor TripModel::empty_context(int64_t batch) const {
  // The empty caption's ids do not depend on the vocabulary: the start token, then padding.
  std::vector<int64_t> ids(static_cast<size_t>(batch * config_.context_length),
                           WordTokenizer::kPad);
  for (int64_t b = 0; b < batch; ++b)
    ids[static_cast<size_t>(b * config_.context_length)] = WordTokenizer::kStart;
  const Device device = unet->conv_in->weight.device();
  return encode_captions(
      ops::to(from_vector(ids, {batch, config_.context_length}, DType::i64), device));
}

Tensor TripModel::unet_output(const Tensor& z_t, const Tensor& t, const Tensor& z0_first,
                              const Tensor& context) const {
  const int64_t B = z_t.size(0), C = config_.channels, N = z_t.size(2);
  const Tensor first = unsqueeze(z0_first, 2);  // [B, C, 1, H, W]
  switch (config_.conditioning) {
    case Conditioning::temporal_start:  // {z_0^1, z_t^1..N}: drop output frame 0
      return narrow(unet->forward(cat({first, z_t}, 2), t, context), 2, 1, N);
    case Conditioning::temporal_end:  // {z_t^1..N, z_0^1}: drop the last output frame
      return narrow(unet->forward(cat({z_t, first}, 2), t, context), 2, 0, N);
    case Conditioning::channel: {  // [z_t^i ; z_0^1] on channels
      const Tensor repeated = expand(first, {B, C, N, z_t.size(3), z_t.size(4)});
      return unet->forward(cat({z_t, repeated}, 1), t, context);
    }
  }
  fail("TripModel: unknown conditioning");
}

Tensor TripModel::residual_noise(const Tensor& z_t, const Tensor& t, const Tensor& z0_first,
                                 const Tensor& context) const {
  const Tensor out = unet_output(z_t, t, z0_first, context);
  if (config_.prediction == Prediction::epsilon) return out;
  return diffusion::predict_eps_from_v(schedule_, z_t, t, out);
}

Tensor TripModel::fuse(const Tensor& residual, const Tensor& prior, const Tensor& t) const {
  switch (config_.fusion) {
    case Fusion::none:
      return residual;      // TRIP^-
    case Fusion::linear: {  // TRIP^W: lambda_i from lambda_first to lambda_last
      const int64_t N = residual.size(2);
      const double step = N > 1 ? (config_.lambda_last - config_.lambda_first) / double(N - 1) : 0;
      const Tensor lambda = view(
          arange(0, double(N), 1.0, TensorOptions(residual.dtype(), residual.device())) * step +
              config_.lambda_first,
          {1, 1, N, 1, 1});
      return lambda * prior + (1.0 - lambda) * residual;
    }
    case Fusion::tnf:
      return tnf->forward(residual, prior, t);
  }
  fail("TripModel: unknown fusion");
}

Tensor TripModel::predict_noise(const Tensor& z_t, const Tensor& t, const Tensor& z0_first,
                                const Tensor& context) const {
  const int64_t C = config_.channels;
  TRIP_CHECK(z_t.dim() == 5 && z_t.size(1) == C, "TripModel: z_t must be [B, {}, N, H, W], got {}",
             C, z_t.shape());
  const int64_t B = z_t.size(0);
  TRIP_CHECK(z0_first.shape() == Dims({B, C, z_t.size(3), z_t.size(4)}),
             "TripModel: the first frame must be [B, C, H, W] = {}, got {}",
             Dims({B, C, z_t.size(3), z_t.size(4)}), z0_first.shape());
  TRIP_CHECK(t.shape() == Dims({B}) && !is_floating(t.dtype()),
             "TripModel: t must be integer timesteps [B] = [{}], got {} {}", B, t.dtype(),
             t.shape());
  const Tensor prior = image_noise_prior(z_t, z0_first, t, schedule_);  // TRIP eq. (5)
  return fuse(residual_noise(z_t, t, z0_first, context), prior, t);
}

Tensor TripModel::loss(const Tensor& clip, const Tensor& t, const Tensor& noise,
                       const Tensor& context, const diffusion::SnrWeighting& weighting) const {
  TRIP_CHECK(clip.dim() == 5 && noise.shape() == clip.shape(),
             "TripModel::loss: clip [B, C, N, H, W] and noise of the same shape expected, got {} "
             "and {}",
             clip.shape(), noise.shape());
  const Tensor z_t = diffusion::q_sample(schedule_, clip, t, noise);
  const Tensor z0_first = select(clip, 2, 0);
  const Tensor eps_tilde = predict_noise(z_t, t, z0_first, context);
  if (!weighting.enabled()) return diffusion::epsilon_mse_loss(eps_tilde, noise);
  return diffusion::epsilon_mse_loss(
      eps_tilde, noise,
      diffusion::snr_loss_weights(schedule_, t, weighting.floor, weighting.gamma, eps_tilde));
}

Tensor TripModel::sample(const Tensor& first_frame, const Tensor& context,
                         const SampleOptions& options) {
  const int64_t C = config_.channels;
  TRIP_CHECK(first_frame.dim() == 4 && first_frame.size(1) == C,
             "TripModel::sample: first_frame must be [B, {}, H, W], got {}", C,
             first_frame.shape());
  const int64_t B = first_frame.size(0);
  TRIP_CHECK(options.guidance >= 0, "TripModel::sample: guidance must be >= 0, got {}",
             options.guidance);
  NoGradGuard no_grad;
  ModeRestorer eval_mode(*this, false);

  const Tensor first = contiguous(first_frame);
  // The prior is recomputed from the current x_t at every step inside predict_noise.
  auto predictor_for = [this, &first](Tensor ctx) {
    return diffusion::NoisePredictor([this, &first, ctx](const Tensor& x_t, int64_t t) {
      const int64_t batch = x_t.size(0);
      const Tensor ts = ops::to(full({batch}, double(t), TensorOptions(DType::i64)), x_t.device());
      const Tensor z0 = batch == first.size(0) ? first : cat({first, first}, 0);
      return predict_noise(x_t, ts, z0, ctx);
    });
  };
  diffusion::NoisePredictor model = predictor_for(context);
  if (options.guidance != 1.0) {
    Tensor uncond = options.uncond_context.defined() ? options.uncond_context : empty_context(B);
    TRIP_CHECK(uncond.shape() == context.shape(),
               "TripModel::sample: unconditional context {} must have the context's shape {}",
               uncond.shape(), context.shape());
    // One UNet pass on [uncond; cond] per step (diffusers' order).
    model = diffusion::classifier_free_guidance_batched(predictor_for(cat({uncond, context}, 0)),
                                                        options.guidance);
  }
  diffusion::DdimOptions ddim;
  ddim.steps = options.steps;
  ddim.eta = options.eta;
  ddim.spacing = options.spacing;
  if (config_.sample_clip > 0) ddim.clip_sample = config_.sample_clip;
  ops::Generator gen{options.seed, 0};
  return diffusion::ddim_sample(
      schedule_, model, {B, C, config_.frames, first.size(2), first.size(3)},
      TensorOptions(first.dtype(), first.device()), &gen, ddim, options.progress);
}

std::vector<nn::ParamGroup> TripModel::parameter_groups(double unet_lr, double tnf_lr,
                                                        double weight_decay) const {
  nn::ParamGroup main{.name = "unet", .params = {}, .lr = unet_lr, .weight_decay = weight_decay};
  nn::ParamGroup fusion{.name = "tnf", .params = {}, .lr = tnf_lr, .weight_decay = weight_decay};
  for (const auto& [name, p] : named_parameters()) {
    (name.starts_with("tnf.") ? fusion : main).params.emplace_back(name, p);
  }
  std::vector<nn::ParamGroup> groups{main};
  if (!fusion.params.empty()) groups.push_back(fusion);
  return groups;
}

std::string TripModel::extra_repr() const {
  return fmt::format("preset={}, conditioning={}, fusion={}, prediction={}, frames={}, size={}",
                     config_.preset, conditioning_name(config_.conditioning),
                     fusion_name(config_.fusion), prediction_name(config_.prediction),
                     config_.frames, config_.size);
}

}  // namespace trip
