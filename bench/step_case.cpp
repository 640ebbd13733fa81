// `trip-bench step`: times TripModel's training step as bench/torch_step.py times the same model
// in PyTorch, so the two print comparable figures (bench/README.md, bench/RESULTS.md).
//
// What is measured:
// - the step: encode_captions, loss, backward, AdamW step, zero_grad; two warm-up steps, then the
//   median over --repeats steps (the forward / backward / optimizer medians are taken separately,
//   so they need not add up to the step's median exactly);
// - peak_bytes: the allocator's peak of tensor bytes in use during the timed steps (the model,
//   the AdamW moments and the step's activations; tensor/memory_stats.h); peak_rss_bytes: the
//   process's peak resident set (getrusage) when the timed steps end, allocator cache included;
// - per part: each top-level part of the model run alone on the inputs it received in one
//   recorded pass (detached, requiring grad as in training): its forward (graph recorded), and
//   its forward plus a backward from a fixed random output gradient. What the parts leave out
//   (q_sample, the noise prior, the first-frame concatenation, the MSE) is the "rest" line.
#include "bench/step_case.h"

#include <fmt/core.h>
#include <omp.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <vector>

#include "autograd/engine.h"
#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "diffusion/forward.h"
#include "nn/optim/adamw.h"
#include "tensor/error.h"
#include "tensor/memory_stats.h"
#include "trip/noise_prior.h"
#include "trip/tokenizer.h"
#include "trip/trip_model.h"

namespace trip::bench {

namespace {

using Clock = std::chrono::steady_clock;
using Tensors = std::vector<Tensor>;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// CPU time of the whole process (all threads), ms: on a shared machine it is much steadier than
// wall time, which there measures the scheduler as much as the work.
double process_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) * 1e-6;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

size_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return size_t(usage.ru_maxrss) * 1024;  // Linux reports kilobytes
}

// One part of the model: a function of recorded inputs.
struct Part {
  std::string name;
  std::function<Tensors(const Tensors&)> fn;
  Tensors inputs;
};

// Random caption ids [B, L]: the start token, 3..12 word ids, then padding (WordTokenizer layout).
Tensor random_captions(int64_t batch, int64_t length, int64_t vocab, std::mt19937& rng) {
  std::vector<int64_t> ids(size_t(batch * length), WordTokenizer::kPad);
  for (int64_t b = 0; b < batch; ++b) {
    ids[size_t(b * length)] = WordTokenizer::kStart;
    const int64_t words = std::min<int64_t>(length - 1, 3 + int64_t(rng() % 10));
    for (int64_t i = 1; i <= words; ++i)
      ids[size_t(b * length + i)] = 3 + int64_t(rng() % uint64_t(vocab - 3));
  }
  return from_vector(ids, {batch, length}, DType::i64);
}

// The model's forward split at its top-level parts (as TripModel::loss and UNet3D::forward run
// it), run once without grad to record each part's inputs.
std::vector<Part> record_parts(const TripModel& model, const Tensor& clip, const Tensor& t,
                               const Tensor& noise, const Tensor& ids) {
  NoGradGuard no_grad;
  const UNet3D& unet = *model.unet;
  const int64_t b = clip.size(0), n = clip.size(2), f = n + 1, h = clip.size(3), w = clip.size(4);
  const int64_t cin = unet.config().in_channels, cout = unet.config().out_channels;
  std::vector<Part> parts;
  auto add = [&](std::string name, std::function<Tensors(const Tensors&)> fn, Tensors in) {
    Tensors out = fn(in);
    parts.push_back({std::move(name), std::move(fn), std::move(in)});
    return out;
  };
  auto enc = model.caption_encoder;
  const Tensor context =
      add("caption_encoder", [enc](const Tensors& in) { return Tensors{enc->forward(in[0])}; },
          {ids})[0];
  // The UNet's input under temporal_start conditioning: {z_0^1, z_t^1..N}.
  const Tensor z_t = diffusion::q_sample(model.schedule(), clip, t, noise);
  const Tensor first = select(clip, 2, 0);
  const Tensor sample = cat({unsqueeze(first, 2), z_t}, 2);
  auto tp = unet.time_proj;
  auto te = unet.time_embedding;
  Tensors cond =
      add("unet.time_embedding",
          [tp, te, b,
           f](const Tensors& in) {  // as UNet3D::forward: silu(temb) and the caption per frame
            Tensor emb = te->forward(trip::to(tp->forward(in[0], DType::f32), in[1].dtype()));
            const int64_t td = emb.size(1), len = in[1].size(1), d = in[1].size(2);
            return Tensors{silu(reshape(expand(unsqueeze(emb, 1), {b, f, td}), {b * f, td})),
                           reshape(expand(unsqueeze(in[1], 1), {b, f, len, d}), {b * f, len, d})};
          },
          {t, context});
  const Tensor temb = cond[0], ctx = cond[1];
  auto conv_in = unet.conv_in;
  Tensor x = add("unet.conv_in",
                 [conv_in, b, f, cin, h, w](const Tensors& in) {
                   return Tensors{conv_in->forward(
                       reshape(permute(in[0], {0, 2, 1, 3, 4}), {b * f, cin, h, w}))};
                 },
                 {sample})[0];
  auto tin = unet.transformer_in;
  x = add("unet.transformer_in",
          [tin, f](const Tensors& in) { return Tensors{tin->forward(in[0], f)}; }, {x})[0];
  Tensors skips{x};
  for (size_t i = 0; i < unet.down_blocks->size(); ++i) {
    auto block = unet.down_blocks->at<DownBlock3D>(i);
    Tensors out =
        add(fmt::format("unet.down_blocks.{}", i),
            [block, f](const Tensors& in) { return block->forward(in[0], in[1], in[2], f); },
            {x, temb, ctx});
    x = out[0];
    skips.insert(skips.end(), out.begin() + 1, out.end());
  }
  auto mid = unet.mid_block;
  x = add("unet.mid_block",
          [mid, f](const Tensors& in) { return Tensors{mid->forward(in[0], in[1], in[2], f)}; },
          {x, temb, ctx})[0];
  for (size_t i = 0; i < unet.up_blocks->size(); ++i) {
    auto block = unet.up_blocks->at<UpBlock3D>(i);
    const size_t k = block->num_layers();
    Tensors in{x, temb, ctx};
    in.insert(in.end(), skips.end() - ptrdiff_t(k), skips.end());
    skips.resize(skips.size() - k);
    x = add(
        fmt::format("unet.up_blocks.{}", i),
        [block, f](const Tensors& v) {
          return Tensors{block->forward(v[0], Tensors(v.begin() + 3, v.end()), v[1], v[2], f)};
        },
        in)[0];
  }
  auto norm_out = unet.conv_norm_out;
  auto conv_out = unet.conv_out;
  x = add("unet.conv_norm_out+conv_out",
          [norm_out, conv_out](const Tensors& in) {
            return Tensors{conv_out->forward(norm_out->forward(in[0], /*silu=*/true))};
          },
          {x})[0];
  // Drop output frame 0 (temporal_start), then fuse with the prior.
  const Tensor residual = narrow(permute(view(x, {b, f, cout, h, w}), {0, 2, 1, 3, 4}), 2, 1, n);
  const Tensor prior = image_noise_prior(z_t, first, t, model.schedule());
  auto tnf = model.tnf;
  add("tnf", [tnf](const Tensors& in) { return Tensors{tnf->forward(in[0], in[1], in[2])}; },
      {contiguous(residual), prior, t});
  return parts;
}

struct PartTiming {
  double fwd_ms = 0, fwd_bwd_ms = 0;          // wall
  double fwd_cpu_ms = 0, fwd_bwd_cpu_ms = 0;  // process CPU time
};

PartTiming time_part(const Part& part, int repeats, nn::AdamW& opt,
                     const std::function<void()>& sync) {
  // Fixed output gradients, from one forward.
  Tensors grads;
  for (const Tensor& y : part.fn(part.inputs)) grads.push_back(randn(y.shape(), y.options()));
  auto fresh_inputs = [&] {
    Tensors in;
    for (const Tensor& x : part.inputs) {
      Tensor d = detach(x);
      if (is_floating(d.dtype())) d.set_requires_grad(true);
      in.push_back(d);
    }
    return in;
  };
  auto time = [&](bool backward) {
    std::vector<double> times, cpu_times;
    for (int i = 0; i < repeats + 2; ++i) {  // 2 warm-ups
      Tensors in = fresh_inputs();
      sync();
      const double cpu_start = process_cpu_ms();
      const auto start = Clock::now();
      Tensors out = part.fn(in);
      if (backward) run_backward(out, grads);
      sync();
      const auto stop = Clock::now();
      const double cpu_stop = process_cpu_ms();
      out.clear();
      opt.zero_grad();
      if (i >= 2)
        times.push_back(ms_between(start, stop)), cpu_times.push_back(cpu_stop - cpu_start);
    }
    return std::pair{median(times), median(cpu_times)};
  };
  auto [f, fc] = time(false);
  auto [fb, fbc] = time(true);
  return {f, fb, fc, fbc};
}

}  // namespace

int run_step(const StepOptions& o) {
  TRIP_CHECK(o.preset == "tiny",
             "not implemented: trip-bench step --preset {} (only tiny, whose caption encoder is "
             "internal; modelscope takes external text features)",
             o.preset);
  TRIP_CHECK(o.batch >= 1 && o.frames >= 1 && o.size >= 4 && o.size % 4 == 0,
             "trip-bench step: need --batch >= 1, --frames >= 1 and --size a multiple of 4, got "
             "{}, {}, {}",
             o.batch, o.frames, o.size);
  const Device dev = o.device;
  std::function<void()> sync = [] {};
  if (dev.is_cuda()) sync = [] { cuda_synchronize(); };

  manual_seed(0);
  TripConfig config = TripConfig::from_preset(o.preset);
  config.frames = o.frames;
  config.size = o.size;
  config.caption.vocab_size = 64;  // a made-up vocabulary: the ids are random
  TripModel model(config);
  model.to(dev);
  model.train();
  nn::AdamW opt(model.parameter_groups(1e-4, 2e-4));

  std::mt19937 rng(0);
  const TensorOptions opts(DType::f32, dev);
  const int64_t B = o.batch, C = config.channels;
  const Tensor clip = rand({B, C, o.frames, o.size, o.size}, opts) * 2.0 - 1.0;
  const Tensor noise = randn(clip.shape(), opts);
  std::vector<int64_t> tv;
  for (int64_t b = 0; b < B; ++b) tv.push_back(int64_t(rng() % uint64_t(config.train_timesteps)));
  const Tensor t = ops::to(from_vector(tv, {B}, DType::i64), dev);
  const Tensor ids =
      ops::to(random_captions(B, config.context_length, config.caption.vocab_size, rng), dev);

  std::vector<double> step_ms, fwd_ms, bwd_ms, opt_ms, cpu_ms;
  double loss_value = 0;
  for (int i = 0; i < o.repeats + 2; ++i) {
    if (i == 2) {  // after the warm-up: the AdamW moments exist, the caches are warm
      reset_peak_memory_stats(dev);
      step_ms.clear(), fwd_ms.clear(), bwd_ms.clear(), opt_ms.clear(), cpu_ms.clear();
    }
    sync();
    const double cpu0 = process_cpu_ms();
    const auto t0 = Clock::now();
    const Tensor context = model.encode_captions(ids);
    Tensor loss = model.loss(clip, t, noise, context);
    sync();
    const auto t1 = Clock::now();
    loss.backward();
    sync();
    const auto t2 = Clock::now();
    opt.step();
    opt.zero_grad();
    sync();
    const auto t3 = Clock::now();
    cpu_ms.push_back(process_cpu_ms() - cpu0);
    loss_value = loss.item<double>();
    step_ms.push_back(ms_between(t0, t3));
    fwd_ms.push_back(ms_between(t0, t1));
    bwd_ms.push_back(ms_between(t1, t2));
    opt_ms.push_back(ms_between(t2, t3));
  }
  const size_t peak = dev.is_cpu() ? cpu_memory_stats().peak : cuda_memory_stats(dev.index).peak;
  const size_t rss = peak_rss_bytes();
  const double step = median(step_ms);
  const int64_t params = model.num_parameters();
  const int threads = omp_get_max_threads();

  if (o.json) {
    fmt::print(
        "{{\"case\": \"step_{}\", \"device\": \"{}\", \"threads\": {}, \"batch\": {}, \"frames\": "
        "{}, \"size\": {}, \"parameters\": {}, \"median_ms\": {:.2f}, \"it_per_s\": {:.3f}, "
        "\"forward_ms\": {:.2f}, \"backward_ms\": {:.2f}, \"optimizer_ms\": {:.2f}, "
        "\"cpu_ms\": {:.2f}, \"peak_bytes\": {}, \"peak_rss_bytes\": {}, \"loss\": {:.5f}}}\n",
        o.preset, dev, threads, B, o.frames, o.size, params, step, 1000.0 / step, median(fwd_ms),
        median(bwd_ms), median(opt_ms), median(cpu_ms), peak, rss, loss_value);
  } else {
    fmt::print("trip-bench step: preset {}, batch {}, {} frames of {}x{}, device {} ({} threads)\n",
               o.preset, B, o.frames, o.size, o.size, dev, threads);
    fmt::print("parameters {} ({} in the UNet, {} in TNF, {} in the caption encoder)\n", params,
               model.unet->num_parameters(), model.tnf ? model.tnf->num_parameters() : 0,
               model.caption_encoder->num_parameters());
    fmt::print(
        "step: median {:.1f} ms ({:.2f} it/s) over {} steps after 2 warm-ups; forward {:.1f}, "
        "backward {:.1f}, AdamW + zero_grad {:.1f} ms (medians); process CPU time {:.1f} ms per "
        "step; loss {:.4f}\n",
        step, 1000.0 / step, o.repeats, median(fwd_ms), median(bwd_ms), median(opt_ms),
        median(cpu_ms), loss_value);
    fmt::print("memory: peak {:.1f} MiB of tensors in use ({}), peak RSS {:.1f} MiB\n",
               double(peak) / (1 << 20), dev.is_cpu() ? "CPU allocator" : "CUDA allocator",
               double(rss) / (1 << 20));
    fmt::print(
        "per part: each part alone on its recorded inputs; fwd = forward with the graph "
        "recorded, fwd+bwd = plus backward from a fixed random output gradient (medians; wall "
        "time, then process CPU time)\n");
    fmt::print("{:<30} {:>10} {:>12} {:>10} {:>12}\n", "part", "fwd ms", "fwd+bwd ms", "fwd cpu",
               "fwd+bwd cpu");
  }
  std::fflush(stdout);
  if (!o.parts) return 0;

  std::vector<Part> parts = record_parts(model, clip, t, noise, ids);
  double sum_fwd = 0, sum_fwd_bwd = 0;
  for (const Part& part : parts) {
    PartTiming pt = time_part(part, o.repeats, opt, sync);
    sum_fwd += pt.fwd_ms;
    sum_fwd_bwd += pt.fwd_bwd_ms;
    if (o.json)
      fmt::print(
          "{{\"case\": \"step_{}/{}\", \"device\": \"{}\", \"fwd_ms\": {:.3f}, \"fwd_bwd_ms\": "
          "{:.3f}, \"fwd_cpu_ms\": {:.3f}, \"fwd_bwd_cpu_ms\": {:.3f}}}\n",
          o.preset, part.name, dev, pt.fwd_ms, pt.fwd_bwd_ms, pt.fwd_cpu_ms, pt.fwd_bwd_cpu_ms);
    else
      fmt::print("{:<30} {:>10.2f} {:>12.2f} {:>10.2f} {:>12.2f}\n", part.name, pt.fwd_ms,
                 pt.fwd_bwd_ms, pt.fwd_cpu_ms, pt.fwd_bwd_cpu_ms);
    std::fflush(stdout);
  }
  // The step's forward and forward+backward minus the parts: q_sample, prior, cat, MSE and the
  // overhead of the step as a whole.
  const double rest_fwd = median(fwd_ms) - sum_fwd;
  const double rest_fwd_bwd = median(fwd_ms) + median(bwd_ms) - sum_fwd_bwd;
  if (o.json)
    fmt::print(
        "{{\"case\": \"step_{}/rest\", \"device\": \"{}\", \"fwd_ms\": {:.3f}, \"fwd_bwd_ms\": "
        "{:.3f}}}\n",
        o.preset, dev, rest_fwd, rest_fwd_bwd);
  else
    fmt::print("{:<30} {:>10.2f} {:>12.2f}   (step's medians minus the parts)\n", "rest", rest_fwd,
               rest_fwd_bwd);
  return 0;
}

}  // namespace trip::bench
