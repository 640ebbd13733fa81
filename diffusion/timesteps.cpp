#include "diffusion/timesteps.h"

#include <cmath>

#include "tensor/error.h"

namespace trip::diffusion {

TimestepSpacing timestep_spacing_from_name(std::string_view name) {
  if (name == "leading") return TimestepSpacing::leading;
  if (name == "trailing") return TimestepSpacing::trailing;
  if (name == "linspace") return TimestepSpacing::linspace;
  fail("unknown timestep spacing '{}' (expected leading, trailing or linspace)", name);
}

std::string_view timestep_spacing_name(TimestepSpacing spacing) {
  switch (spacing) {
    case TimestepSpacing::leading:
      return "leading";
    case TimestepSpacing::trailing:
      return "trailing";
    case TimestepSpacing::linspace:
      return "linspace";
  }
  return "?";
}

namespace {

// numpy's np.round: halves go to the even neighbour (nearbyint in the default rounding mode),
// which differs from std::round at .5 (e.g. trailing with 16 of 1000 steps hits 812.5).
int64_t round_half_even(double x) { return static_cast<int64_t>(std::nearbyint(x)); }

}  // namespace

std::vector<int64_t> ddim_timesteps(int64_t T, int64_t steps, TimestepSpacing spacing,
                                    int64_t steps_offset) {
  TRIP_CHECK(T >= 1, "ddim_timesteps: the schedule must have at least 1 step, got T = {}", T);
  TRIP_CHECK(steps >= 1 && steps <= T,
             "ddim_timesteps: steps must be in [1, T = {}] (a sampler cannot take more steps than "
             "the model was trained with), got {}",
             T, steps);
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(steps));
  switch (spacing) {
    case TimestepSpacing::leading: {
      const int64_t ratio = T / steps;
      TRIP_CHECK(steps_offset >= 0 && (steps - 1) * ratio + steps_offset < T,
                 "ddim_timesteps: steps_offset {} puts the first timestep {} outside [0, {})",
                 steps_offset, (steps - 1) * ratio + steps_offset, T);
      for (int64_t i = steps - 1; i >= 0; --i) out.push_back(i * ratio + steps_offset);
      break;
    }
    case TimestepSpacing::trailing: {
      // np.arange(T, 0, -T/steps): its length is ceil(T / ratio) and element i is
      // first + i * delta with delta = (first + step) - first, computed in float64 as numpy does.
      const double ratio = static_cast<double>(T) / static_cast<double>(steps);
      const double first = static_cast<double>(T), second = first - ratio;
      const double delta = second - first;
      const auto length = static_cast<int64_t>(std::ceil((0.0 - first) / -ratio));
      for (int64_t i = 0; i < length; ++i) {
        const double v = i == 0 ? first : i == 1 ? second : first + static_cast<double>(i) * delta;
        const int64_t t = round_half_even(v) - 1;
        if (t >= 0) out.push_back(t);  // drops diffusers' occasional invalid -1 (see header)
      }
      break;
    }
    case TimestepSpacing::linspace: {
      // np.linspace(0, T - 1, steps): i * ((T - 1) / (steps - 1)), the last one exactly T - 1.
      const double last = static_cast<double>(T - 1);
      const double step = steps > 1 ? last / static_cast<double>(steps - 1) : 0.0;
      for (int64_t i = steps - 1; i >= 0; --i) {
        out.push_back(i == steps - 1 && steps > 1 ? T - 1
                                                  : round_half_even(static_cast<double>(i) * step));
      }
      break;
    }
  }
  TRIP_CHECK(static_cast<int64_t>(out.size()) == steps,
             "ddim_timesteps: internal error, {} timesteps for {} steps", out.size(), steps);
  return out;
}

}  // namespace trip::diffusion
