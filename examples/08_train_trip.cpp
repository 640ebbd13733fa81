// Lesson 8: train TRIP in about 100 lines — the whole training loop written out, then one video.
//
// TRIP animates a given image (the first frame z_0^1) into a clip. Each training step takes real
// clips z_0 [B, C, N, H, W], one timestep t per clip and Gaussian noise eps, and computes
//   z_t        = sqrt(ab_t) z_0 + sqrt(1 - ab_t) eps                     (TRIP.md section 1)
//   eps^{i->1} = (z_t^i - sqrt(ab_t) z_0^1) / sqrt(1 - ab_t)  image noise prior, paper eq. (5)
//   Delta_eps  = UNet3D({z_0^1, z_t^1..z_t^N}, t, caption), output frame 1 dropped (section 3)
//   eps_tilde  = TNF(Delta_eps, eps^{i->1}, t)                Temporal Noise Fusion (section 4)
//   L          = mean || eps - eps_tilde ||^2                                       (section 5)
// and takes an AdamW step with two parameter groups ("unet" with the caption encoder, "tnf"; the
// paper fine-tunes the UNet at a lower lr than the TNF it trains from scratch) after clipping the
// gradient norm to 1. TripModel serves only as the box holding the networks (model.unet,
// model.tnf, model.caption_encoder); TripModel::loss and trip::Trainer do these same steps
// (lesson 9 uses them). Sampling is DDIM (section 6) with the prior recomputed from the current
// z_t at every step; we write that loop out too and check it against TripModel::sample.
//
// The model is far smaller than the `tiny` preset (16x16 pixels, 4 frames, UNet widths 16/32) so
// that it trains in under a minute on two cores; the data are 16 synthetic clips of moving shapes
// (data/synthetic.h) in [-1, 1]. What to look at:
// - the loss falling (a running median of 20 steps; the exit status is non-zero unless the median
//   of the last 20 losses is below that of the first 20). Single steps spike: a t near 0, where
//   the prior carries (z_0^i - z_0^1) / sqrt(1 - ab_t), about 100x the change between frames, and
//   TNF must learn to ignore it there.
// - the loss per t next to that of the prior alone: at large t the prior is almost exactly the
//   noise (TRIP's premise); TNF learns to hand it through (after 300 steps its loss at t = 900 is
//   ~0.001, the prior's ~0.0000); at small t, where the prior is far off (t = 10: ~57), TNF does
//   far better (~0.3): it has learned to ignore the prior there.
// - trip_sample.png / .gif: the real clip on top, TRIP's animation of its first frame below. After
//   300 steps (measured 2026-11-25) the first frame resembles the image (PSNR ~26 dB) but the
//   motion is not learned yet: the shape stays put, with colour speckles.
// Run: build/examples/08_train_trip [--quick] [--out DIR] [--seed N]
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "data/export.h"
#include "data/synthetic.h"
#include "diffusion/ddim.h"
#include "diffusion/forward.h"
#include "lesson.h"
#include "nn/optim/adamw.h"
#include "nn/optim/clip.h"
#include "tensor/error.h"
#include "trip/eval_metrics.h"
#include "trip/noise_prior.h"
#include "trip/tokenizer.h"
#include "trip/trip_model.h"

using namespace trip;

// The median of a range of losses: robust to the rare huge loss of a step with t near 0.
static double median(std::vector<double>::const_iterator begin,
                     std::vector<double>::const_iterator end) {
  std::vector<double> v(begin, end);
  std::nth_element(v.begin(), v.begin() + long(v.size() / 2), v.end());
  return v[v.size() / 2];
}

int main(int argc, char** argv) {
  const LessonArgs args = parse_lesson_args(argc, argv);
  const int steps = args.quick ? 40 : 300, batch = 4, videos = 16;
  TripConfig config = TripConfig::tiny();  // then made smaller: a "micro" TRIP
  config.frames = 4;
  config.size = 16;
  config.context_length = 8;
  config.unet.block_out_channels = {16, 32};
  config.unet.down_block_types = {"DownBlock3D", "CrossAttnDownBlock3D"};
  config.unet.up_block_types = {"CrossAttnUpBlock3D", "UpBlock3D"};
  config.unet.cross_attention_dim = 32;
  config.tnf.width = 32;
  config.caption.layers = 1;

  // Data: a few synthetic clips (first frame = the image to animate) and their captions.
  std::vector<Tensor> clips;
  std::vector<std::string> captions;
  for (int v = 0; v < videos; ++v) {
    data::Video video = data::synthesize(v, args.seed, config.frames, config.size);
    clips.push_back(data::to_tensor(video));  // [3, N, H, W], already scaled to [-1, 1]
    captions.push_back(video.caption);
  }
  const WordTokenizer tokenizer = WordTokenizer::build(captions);
  config.caption.vocab_size = tokenizer.vocab_size();

  manual_seed(args.seed);  // the initial weights
  TripModel model(config);
  const diffusion::NoiseSchedule& schedule = model.schedule();  // linear, T = 1000
  // From scratch, this small UNet wants a far larger lr than the paper's fine-tuning 2e-6.
  nn::ParamGroup unet_group{.name = "unet", .params = {}, .lr = 1e-3, .weight_decay = 0.01};
  nn::ParamGroup tnf_group{.name = "tnf", .params = {}, .lr = 1e-3, .weight_decay = 0.01};
  for (const auto& [name, p] : model.named_parameters())
    (name.starts_with("tnf.") ? tnf_group : unet_group).params.emplace_back(name, p);
  nn::AdamW optimizer({unet_group, tnf_group});
  auto count = [](const nn::ParamGroup& g) {
    int64_t n = 0;
    for (const auto& [name, p] : g.params) n += p.numel();
    return n;
  };
  fmt::print("micro TRIP: {} weights in group unet (with the caption encoder), {} in group tnf\n",
             count(unet_group), count(tnf_group));

  ops::Generator gen{args.seed, 1};  // timesteps and noise
  std::vector<double> losses;
  const auto start = std::chrono::steady_clock::now();
  for (int step = 0; step < steps; ++step) {
    std::vector<Tensor> picked;
    std::vector<std::string> picked_captions;
    for (int b = 0; b < batch; ++b) {  // the next clips of the data set, epoch after epoch
      const size_t i = size_t((step * batch + b) % videos);
      picked.push_back(clips[i]);
      picked_captions.push_back(captions[i]);
    }
    const Tensor z0 = stack(picked, 0);        // [B, C, N, H, W]
    const Tensor z0_first = select(z0, 2, 0);  // [B, C, H, W]: the given image
    const Tensor t = diffusion::sample_timesteps(batch, schedule, &gen);
    const Tensor eps = ops::randn(z0.shape(), DType::f32, &gen);
    const Tensor z_t = diffusion::q_sample(schedule, z0, t, eps);
    const Tensor prior = image_noise_prior(z_t, z0_first, t, schedule);  // shortcut path
    const Tensor context =
        model.encode_captions(tokenizer.encode_batch(picked_captions, config.context_length).ids);
    // Residual path: the image goes in as an extra frame before the noisy ones; its output
    // frame is dropped.
    const Tensor unet_in = cat({unsqueeze(z0_first, 2), z_t}, 2);  // [B, C, N + 1, H, W]
    const Tensor residual = narrow(model.unet->forward(unet_in, t, context), 2, 1, config.frames);
    const Tensor eps_tilde = model.tnf->forward(residual, prior, t);
    const Tensor loss = diffusion::epsilon_mse_loss(eps_tilde, eps);
    loss.backward();
    nn::clip_grad_norm(model.named_parameters(), 1.0);
    optimizer.step();
    optimizer.zero_grad();
    losses.push_back(loss.item<double>());
    if ((step + 1) % (steps / 10) == 0) {  // single losses swing with t: a running median
      fmt::print("step {:4d}  loss {:.4f}  (median of the last 20 steps {:.4f})\n", step + 1,
                 losses.back(), median(losses.end() - std::min<long>(20, step + 1), losses.end()));
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double first = median(losses.begin(), losses.begin() + 20);
  const double last = median(losses.end() - 20, losses.end());
  fmt::print(
      "{} steps in {:.1f} s; median loss of the first 20 steps {:.4f}, of the last 20 {:.4f}\n",
      steps, seconds, first, last);

  // Where the error is, per t on all 16 clips: TRIP's estimate vs the prior alone, which is the
  // true noise for frame 1 and nearly so for every frame at large t.
  {
    NoGradGuard no_grad;
    model.eval();  // no dropout
    const Tensor z0 = stack(clips, 0), z0_first = select(z0, 2, 0);
    const Tensor context =
        model.encode_captions(tokenizer.encode_batch(captions, config.context_length).ids);
    ops::Generator eval_gen{args.seed, 2};
    for (int64_t t : {10, 100, 300, 600, 900}) {
      const Tensor ts = full({videos}, double(t), TensorOptions(DType::i64));
      const Tensor eps = ops::randn(z0.shape(), DType::f32, &eval_gen);
      const Tensor z_t = diffusion::q_sample(schedule, z0, ts, eps);
      const Tensor prior = image_noise_prior(z_t, z0_first, ts, schedule);
      const Tensor eps_tilde = model.predict_noise(z_t, ts, z0_first, context);  // as above
      fmt::print("t = {:3d}: loss of TRIP's estimate {:8.4f}, of the prior alone {:8.4f}\n", t,
                 diffusion::epsilon_mse_loss(eps_tilde, eps).item<double>(),
                 diffusion::epsilon_mse_loss(prior, eps).item<double>());
    }
    model.train();
  }

  // Sampling: animate the first frame of clip 0 by DDIM, recomputing the prior at every step.
  const int64_t sample_steps = args.quick ? 10 : 50;
  const Tensor image = unsqueeze(select(clips[0], 1, 0), 0);  // [1, C, H, W]
  const Tensor context =
      model.encode_captions(tokenizer.encode_batch({captions[0]}, config.context_length).ids);
  Tensor video;
  {
    NoGradGuard no_grad;
    model.eval();  // no dropout while sampling
    diffusion::DdimOptions ddim;
    ddim.steps = sample_steps;
    ddim.clip_sample = 1.0;  // pixel space: the predicted clean clip lies in [-1, 1]
    ops::Generator sample_gen{args.seed, 0};
    Tensor z = ops::randn({1, config.channels, config.frames, config.size, config.size}, DType::f32,
                          &sample_gen);  // z_T ~ N(0, I)
    for (int64_t t : diffusion::ddim_timesteps(schedule.num_steps(), sample_steps)) {
      const Tensor ts = full({1}, double(t), TensorOptions(DType::i64));
      const Tensor prior = image_noise_prior(z, image, ts, schedule);  // from the current z_t
      const Tensor unet_in = cat({unsqueeze(image, 2), z}, 2);
      const Tensor residual =
          narrow(model.unet->forward(unet_in, ts, context), 2, 1, config.frames);
      const Tensor eps_tilde = model.tnf->forward(residual, prior, ts);
      const int64_t t_prev = diffusion::previous_timestep(schedule.num_steps(), sample_steps, t);
      z = diffusion::ddim_step(schedule, eps_tilde, t, t_prev, z, ddim).prev_sample;
    }
    video = z;
    model.train();
  }
  // The library's sampler runs the same loop; with the same seed it gives the same video.
  SampleOptions options;
  options.steps = sample_steps;
  options.seed = args.seed;
  const std::vector<float> ours = video.to_vector<float>(),
                           library = model.sample(image, context, options).to_vector<float>();
  double difference = 0;
  bool finite = true;
  for (size_t i = 0; i < ours.size(); ++i) {
    finite = finite && std::isfinite(ours[i]);
    if (!(std::isnan(ours[i]) && std::isnan(library[i])))  // NaN on both sides counts as equal
      difference = std::max(difference, double(std::abs(ours[i] - library[i])));
  }
  fmt::print("our DDIM loop vs TripModel::sample: max difference {:.1e}\n", difference);
  if (finite)
    fmt::print("first frame vs the image: PSNR {:.1f} dB\n",
               eval::psnr(select(video, 2, 0), image)[0]);
  else  // an untrained fusion can make the chain diverge
    fmt::print("the sample is not finite: the DDIM chain diverged\n");

  const data::Video real = data::from_tensor(clips[0], 4.0);
  const data::Video generated = data::from_tensor(select(video, 0, 0), 4.0);
  data::save_grid({real, generated}, output_file(args, "trip_sample.png"), 4);
  try {
    data::save_gif(generated, output_file(args, "trip_sample.gif"));
  } catch (const Error& e) {  // ffmpeg is not installed: the PNG strip is enough
    fmt::print("no GIF: {}\n", e.what());
  }
  if (!(last < first) || !(difference <= 1e-4)) {
    fmt::print("FAILED: the loss did not fall, or the two samplers disagree\n");
    return 1;
  }
  return 0;
}
