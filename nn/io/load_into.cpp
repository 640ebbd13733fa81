// load_into() and LoadIntoReport (declared in nn/io/safetensors.h): loading by name is shared by
// safetensors imports and any other source of named tensors. Sources are often views into a
// memory-mapped file (read_safetensors): copy_ reads each once into the target's own memory, so
// the loaded model never keeps the file mapped.
#include <unordered_map>

#include "nn/io/safetensors.h"

namespace trip::nn {

std::string LoadIntoReport::describe() const {
  std::string s;
  for (const auto& m : missing) s += fmt::format("missing (no source tensor): {}\n", m);
  for (const auto& u : unexpected) s += fmt::format("unexpected (no such target): {}\n", u);
  for (const auto& m : mismatched) s += fmt::format("shape mismatch: {}\n", m);
  return s;
}

LoadIntoReport load_into(const NamedTensors& source, const NamedTensors& targets,
                         std::function<std::string(const std::string&)> rename, bool strict) {
  std::unordered_map<std::string, size_t> target_index;
  for (size_t i = 0; i < targets.size(); ++i) {
    TRIP_CHECK(targets[i].second.defined(), "load_into: target '{}' is undefined",
               targets[i].first);
    TRIP_CHECK(target_index.emplace(targets[i].first, i).second,
               "load_into: duplicate target name '{}'", targets[i].first);
  }
  LoadIntoReport report;
  std::vector<char> filled(targets.size(), 0);
  std::vector<std::pair<size_t, const Tensor*>> copies;  // planned first, done only when allowed
  for (const auto& [source_name, tensor] : source) {
    std::string name = rename ? rename(source_name) : source_name;
    if (name.empty()) continue;
    auto it = target_index.find(name);
    if (it == target_index.end()) {
      report.unexpected.push_back(name);
      continue;
    }
    const Tensor& target = targets[it->second].second;
    if (filled[it->second]) {
      // Two sources renamed onto one target: the second would silently win.
      report.mismatched.push_back(fmt::format("{}: loaded twice (source '{}')", name, source_name));
      continue;
    }
    if (!(tensor.shape() == target.shape())) {
      report.mismatched.push_back(
          fmt::format("{}: source shape {} vs target {}", name, tensor.shape(), target.shape()));
      continue;
    }
    filled[it->second] = 1;
    copies.emplace_back(it->second, &tensor);
  }
  for (size_t i = 0; i < targets.size(); ++i)
    if (!filled[i]) report.missing.push_back(targets[i].first);
  if (strict && !report.ok())
    fail("load_into: {} missing, {} unexpected, {} mismatched; nothing was loaded:\n{}",
         report.missing.size(), report.unexpected.size(), report.mismatched.size(),
         report.describe());
  for (const auto& [index, tensor] : copies) ops::copy_(targets[index].second, *tensor);
  report.loaded = copies.size();
  return report;
}

}  // namespace trip::nn
