// defines: printing of tensors through fmt (`fmt::print("{}", t)`), in PyTorch's layout: nested
// brackets, large tensors summarised with "..." (3 edge items per dim beyond 1000 elements).
#pragma once
#include <fmt/format.h>

#include <string>

#include "tensor/tensor.h"

namespace trip {
std::string to_string(const Tensor& t);
}

template <>
struct fmt::formatter<trip::Tensor> : fmt::formatter<std::string> {
  auto format(const trip::Tensor& t, format_context& ctx) const {
    return fmt::formatter<std::string>::format(trip::to_string(t), ctx);
  }
};
