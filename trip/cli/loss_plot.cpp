#include "trip/cli/loss_plot.h"

#include <algorithm>
#include <cmath>

#include "data/chart.h"

namespace trip::cli {

void save_loss_plot(const std::vector<std::pair<int64_t, double>>& losses,
                    const std::string& path) {
  // Only finite positive losses can sit on a log axis; a diverged step (nan, inf) is left out
  // rather than failing the run's plot.
  std::vector<double> steps, values, trend;
  for (const auto& [step, loss] : losses) {
    if (!std::isfinite(loss) || loss <= 0) continue;
    steps.push_back(double(step));
    values.push_back(loss);
    // Running mean: the trend through the noisy losses.
    trend.push_back(trend.empty() ? loss : 0.9 * trend.back() + 0.1 * loss);
  }
  data::ChartOptions options;
  options.log_y = true;
  if (!steps.empty()) {
    options.x_min = steps.front();
    options.x_max = std::max(steps.back(), steps.front() + 1);
  }
  data::Chart chart(options);
  if (!steps.empty()) {
    chart.scatter(steps, values, "loss", data::ChartColor{160, 160, 160}, 0);
    chart.line(steps, trend, "running mean", data::ChartColor{200, 30, 30}, 1);
  }
  chart.save(path);
}

}  // namespace trip::cli
