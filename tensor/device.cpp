#include "tensor/device.h"

#include <charconv>

#include "tensor/error.h"

namespace trip {

Device::Device(std::string_view text) {
  if (text == "cpu") return;
  if (text.substr(0, 4) == "cuda") {
    type = DeviceType::cuda;
    if (text.size() == 4) return;
    if (text[4] == ':') {
      auto rest = text.substr(5);
      auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), index);
      if (ec == std::errc() && ptr == rest.data() + rest.size() && !rest.empty() && index >= 0) {
        return;
      }
    }
  }
  fail("invalid device '{}': expected 'cpu', 'cuda' or 'cuda:N'", text);
}

std::string Device::str() const { return is_cpu() ? "cpu" : fmt::format("cuda:{}", index); }

}  // namespace trip
