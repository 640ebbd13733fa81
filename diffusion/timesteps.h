// defines: TimestepSpacing and ddim_timesteps, the descending inference timesteps of diffusers'
// DDIMScheduler / DDPMScheduler.set_timesteps ("leading", "trailing", "linspace"), and
// previous_timestep, diffusers' rule for the timestep a step goes to.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

namespace trip::diffusion {

enum class TimestepSpacing {
  leading,   // t_i = i * (T / steps) (integer division) + steps_offset: DDIM paper's choice
  trailing,  // round(T - i * T / steps) - 1: ends at t = T - 1 (Lin et al. 2023, table 2)
  linspace,  // round(linspace(0, T - 1, steps))
};
TimestepSpacing timestep_spacing_from_name(std::string_view name);  // throws on unknown names
std::string_view timestep_spacing_name(TimestepSpacing spacing);

// The `steps` timesteps of a sampler over a schedule of T training steps, largest first, exactly
// as diffusers 0.31 computes them (numpy's float arange/linspace and round-half-to-even
// included). steps_offset applies to "leading" only, as in diffusers. Requires 1 <= steps <= T
// and, for leading, a last timestep below T. One deliberate difference: for some counts (61,
// 103, 121, ... of 1000) diffusers' "trailing" returns steps + 1 values ending in the invalid
// timestep -1 (numpy's float arange overshoots); we drop that entry.
std::vector<int64_t> ddim_timesteps(int64_t T, int64_t steps,
                                    TimestepSpacing spacing = TimestepSpacing::leading,
                                    int64_t steps_offset = 0);

// The timestep a DDIM/DDPM step from t lands on in diffusers: t - T / steps (integer division),
// whatever the spacing; a negative value means "past the end" (the final alpha_bar).
inline int64_t previous_timestep(int64_t T, int64_t steps, int64_t t) { return t - T / steps; }

}  // namespace trip::diffusion
