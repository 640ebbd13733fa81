#include "trip/cli/run_folder.h"

#include <fmt/core.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/atomic_file.h"
#include "tensor/error.h"

namespace trip::cli {

namespace fs = std::filesystem;

RunFolder::RunFolder(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  TRIP_CHECK(!ec && fs::is_directory(dir_), "cannot create the run folder '{}': {}", dir_,
             ec ? ec.message() : "not a directory");
}

std::string RunFolder::checkpoint_path(int64_t step) const {
  return path(fmt::format("ckpt-{:08}.h5", step));
}

std::vector<std::pair<int64_t, std::string>> RunFolder::checkpoints() const {
  std::vector<std::pair<int64_t, std::string>> out;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != 16 || name.rfind("ckpt-", 0) != 0 || name.substr(13) != ".h5") continue;
    const std::string digits = name.substr(5, 8);
    if (!std::all_of(digits.begin(), digits.end(), ::isdigit)) continue;
    out.emplace_back(std::stoll(digits), entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::string> RunFolder::latest_checkpoint() const {
  const auto all = checkpoints();
  if (all.empty()) return std::nullopt;
  return all.back().second;
}

void RunFolder::prune_checkpoints(int64_t keep) {
  auto all = checkpoints();
  for (size_t i = 0; i + static_cast<size_t>(keep) < all.size(); ++i) {
    std::error_code ec;
    fs::remove(all[i].second, ec);  // best effort: a leftover old checkpoint harms nothing
  }
}

void RunFolder::append_metrics(const nlohmann::json& record) {
  std::ofstream out(path("metrics.jsonl"), std::ios::app);
  out << record.dump() << "\n";
  out.flush();
  TRIP_CHECK(out.good(), "cannot write {}", path("metrics.jsonl"));
}

void RunFolder::truncate_metrics_after(int64_t step) {
  std::ifstream in(path("metrics.jsonl"));
  if (!in) return;
  std::string kept, line;
  while (std::getline(in, line)) {
    try {
      const auto j = nlohmann::json::parse(line);
      if (j.value("step", int64_t{0}) > step) continue;
    } catch (const nlohmann::json::exception&) {
      continue;  // a line cut by a crash
    }
    kept += line + "\n";
  }
  data::write_file_atomically(
      path("metrics.jsonl"),
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(kept.data()), kept.size()));
}

std::vector<std::pair<int64_t, double>> RunFolder::losses() const {
  std::vector<std::pair<int64_t, double>> out;
  std::ifstream in(path("metrics.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    try {
      const auto j = nlohmann::json::parse(line);
      if (j.contains("loss") && j["loss"].is_number()) {
        out.emplace_back(j.value("step", int64_t{0}), j["loss"].get<double>());
      }
    } catch (const nlohmann::json::exception&) {
    }
  }
  return out;
}

}  // namespace trip::cli
