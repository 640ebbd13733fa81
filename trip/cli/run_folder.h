// defines: RunFolder, the files of one training run: checkpoints `ckpt-<step>.h5` (the newest k
// kept), `config.json` (the resolved configuration), `metrics.jsonl` (one JSON record per logged
// step) and `loss.png` (the loss curve).
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace trip::cli {

class RunFolder {
 public:
  explicit RunFolder(std::string dir);  // creates the folder when missing
  const std::string& dir() const { return dir_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  std::string checkpoint_path(int64_t step) const;
  std::vector<std::pair<int64_t, std::string>> checkpoints() const;  // by step, oldest first
  std::optional<std::string> latest_checkpoint() const;
  void prune_checkpoints(int64_t keep);  // deletes all but the newest `keep`

  void append_metrics(const nlohmann::json& record);  // one line, flushed
  // Drops records of steps after `step` (a resumed run repeats them), atomically.
  void truncate_metrics_after(int64_t step);
  std::vector<std::pair<int64_t, double>> losses() const;  // (step, loss) from metrics.jsonl

 private:
  std::string dir_;
};

}  // namespace trip::cli
