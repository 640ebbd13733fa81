// defines: reading and writing safetensors files (the Hugging Face format diffusers checkpoints
// ship in) and load_into(), which copies named tensors into existing ones (a model's parameters)
// with shape checks, dtype conversion and a report of what did not match.
//
// Format: 8-byte little-endian header length N, N bytes of JSON
// {name: {"dtype", "shape", "data_offsets": [begin, end)}, "__metadata__": {string: string}},
// then the data, offsets relative to its start. Every file the reference implementation rejects
// is rejected here with a trip::Error naming the file and the problem.
#pragma once
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nn/state.h"

namespace trip::nn {

using Metadata = std::map<std::string, std::string>;

struct SafetensorsFile {
  // In the order of their data in the file; contiguous CPU tensors (views or copies, see below).
  NamedTensors tensors;
  Metadata metadata;
};

// Memory-maps the file (read-only descriptor, MAP_PRIVATE) and returns tensors that are views into
// the mapping; the mapping lives until the last such tensor is destroyed (each view's Storage
// holds it, Storage::wrap). A tensor whose bytes are not aligned for its dtype in the file, and
// every empty tensor, is a copy instead (`t.storage()->is_external()` tells which).
// - Writing into a view is allowed and copy-on-write: it changes this process's page only, never
//   the file.
// - The whole file is validated (header, dtypes, offsets tiling exactly the file's size, BOOL
//   bytes, duplicate names) before any tensor is made, so a truncated or damaged file is an
//   Error, never a SIGBUS. Replacing the file afterwards is safe when done by rename (as
//   save_safetensors does: the old inode stays mapped); truncating it in place while views are
//   alive is not (the kernel raises SIGBUS on the lost pages), as with any memory-mapped reader.
SafetensorsFile read_safetensors(const std::string& path);
NamedTensors load_safetensors(const std::string& path);
// The same checks on bytes already in memory; `what` names them in errors. Every tensor is a copy,
// so the bytes may be freed afterwards.
SafetensorsFile parse_safetensors(const void* data, size_t size, const std::string& what);
// Zero-copy form: tensors view `data` where aligned (as read_safetensors), and hold `owner`, which
// must keep the (writable) bytes alive.
SafetensorsFile parse_safetensors(void* data, size_t size, const std::string& what,
                                  std::shared_ptr<void> owner);

// Writes tensors (any device, layout) as contiguous CPU data, largest element size first, then by
// name, so every tensor is aligned for its dtype in the file; atomically (see
// nn/io/atomic_file.h). Names must be unique and not "__metadata__".
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const Metadata& metadata = {});

// Not named LoadReport: nn/module.h has that name for load_state_dict (missing/unexpected only).
struct LoadIntoReport {
  std::vector<std::string> missing;     // targets nothing was loaded into
  std::vector<std::string> unexpected;  // source names (after rename) with no target
  std::vector<std::string> mismatched;  // "name: source shape [..] vs target [..]"
  size_t loaded = 0;
  bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  std::string describe() const;  // one line per problem
};

// Copies each source tensor into the target of the same name (source names passed through
// `rename` first; a rename to "" drops the tensor). Shapes must match exactly; dtypes are converted
// by ops::copy_. strict: any problem throws a trip::Error listing them all and NOTHING is copied,
// so a failed strict load never leaves a half-loaded model. Non-strict: matches are copied and the
// problems reported.
LoadIntoReport load_into(const NamedTensors& source, const NamedTensors& targets,
                         std::function<std::string(const std::string&)> rename = {},
                         bool strict = true);

}  // namespace trip::nn
