// defines: Device (`cpu` or `cuda:N`), parsed from and printed as text.
#pragma once
#include <fmt/format.h>

#include <string>
#include <string_view>

namespace trip {

enum class DeviceType : uint8_t { cpu, cuda };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;

  Device() = default;
  constexpr Device(DeviceType t, int i = 0) : type(t), index(i) {}
  explicit Device(std::string_view text);  // "cpu", "cuda", "cuda:1"

  bool is_cpu() const { return type == DeviceType::cpu; }
  bool is_cuda() const { return type == DeviceType::cuda; }
  std::string str() const;
  friend bool operator==(const Device&, const Device&) = default;
};

inline constexpr Device kCPU{DeviceType::cpu, 0};
inline Device cuda(int index = 0) { return Device(DeviceType::cuda, index); }

}  // namespace trip

template <>
struct fmt::formatter<trip::Device> : fmt::formatter<std::string_view> {
  auto format(const trip::Device& d, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(d.str(), ctx);
  }
};
