// defines: small RAII and error helpers over the HDF5 C API for nn/io/checkpoint.cpp: H5Handle
// (closes an hid_t), h5_silence() and h5_check(), which turns HDF5's error stack into the text of
// a trip::Error instead of HDF5 printing it to stderr.
#pragma once
#include <hdf5.h>

#include <string>
#include <utility>

#include "tensor/error.h"

namespace trip::nn::h5 {

class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, -1)), close_(o.close_) {}
  Handle& operator=(Handle&& o) noexcept {
    std::swap(id_, o.id_);
    std::swap(close_, o.close_);
    return *this;
  }
  ~Handle() {
    if (id_ >= 0 && close_) close_(id_);
  }
  operator hid_t() const { return id_; }  // NOLINT: handles pass straight into H5 calls

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

// HDF5 prints its error stack to stderr by default; we report it through trip::Error instead.
inline void silence() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

// The current error stack as one line (the API call first, the root cause last), then cleared.
inline std::string error_stack() {
  std::string text;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* e, void* data) -> herr_t {
        auto* s = static_cast<std::string*>(data);
        if (!s->empty()) *s += "; ";
        *s += e->desc ? e->desc : "(no description)";
        return 0;
      },
      &text);
  H5Eclear2(H5E_DEFAULT);
  return text.empty() ? "no HDF5 error recorded" : text;
}

// Throws "<where>: <what>: <HDF5 stack>" when an HDF5 call returned a negative value.
template <typename T>
T check(T result, const std::string& where, const std::string& what) {
  if (result < 0) fail("{}: {}: {}", where, what, error_stack());
  return result;
}

}  // namespace trip::nn::h5
