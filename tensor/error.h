// defines: trip::Error, the one exception type of the project, and TRIP_CHECK(cond, fmt, args...)
// which throws it with a fmt-formatted message. Messages name the op and the offending values.
#pragma once
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace trip {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace trip

#define TRIP_CHECK(cond, ...)               \
  do {                                      \
    if (!(cond)) ::trip::fail(__VA_ARGS__); \
  } while (0)
