#include "trip/noise_prior.h"

#include "autograd/functions.h"
#include "tensor/error.h"

namespace trip {

Tensor image_noise_prior(const Tensor& z_t, const Tensor& z0_first, const Tensor& alpha_bar) {
  TRIP_CHECK(z_t.dim() == 5, "image_noise_prior: z_t must be [B, C, F, H, W], got {}", z_t.shape());
  const int64_t B = z_t.size(0), C = z_t.size(1), H = z_t.size(3), W = z_t.size(4);
  TRIP_CHECK(z0_first.shape() == Dims({B, C, H, W}),
             "image_noise_prior: z0_first must be [B, C, H, W] = {} to match z_t {}, got {}",
             Dims({B, C, H, W}), z_t.shape(), z0_first.shape());
  TRIP_CHECK(alpha_bar.shape() == Dims({B}),
             "image_noise_prior: alpha_bar must be [B] = [{}], got {}", B, alpha_bar.shape());
  // Broadcast shapes: alpha_bar over [B, 1, 1, 1, 1], the first frame over all F frames.
  const Tensor ab = view(to(alpha_bar, z_t.dtype()), {B, 1, 1, 1, 1});
  const Tensor first = unsqueeze(z0_first, 2);
  return (z_t - sqrt(ab) * first) * rsqrt(1.0 - ab);
}

Tensor image_noise_prior(const Tensor& z_t, const Tensor& z0_first, const Tensor& t,
                         const diffusion::NoiseSchedule& schedule) {
  return image_noise_prior(z_t, z0_first, schedule.alpha_bar_at(t, z_t.dtype()));
}

}  // namespace trip
