// defines: save_loss_plot, the loss curve of a run as a PNG: raw losses as grey dots, their
// running mean as a line, a log-scale loss axis with decade labels and a step axis.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace trip::cli {

void save_loss_plot(const std::vector<std::pair<int64_t, double>>& losses, const std::string& path);

}  // namespace trip::cli
