#pragma once
// One exception type for every user-facing failure, and the helpers that build its message.
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace xgrad {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
inline void append(std::ostringstream&) {}
template <class T, class... Rest>
void append(std::ostringstream& os, const T& v, const Rest&... rest);

// Shapes print as [3, 4] so messages read like PyTorch's.
inline void append_one(std::ostringstream& os, const std::vector<int64_t>& v) {
  os << '[';
  for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  os << ']';
}
template <class T>
void append_one(std::ostringstream& os, const T& v) { os << v; }

template <class T, class... Rest>
void append(std::ostringstream& os, const T& v, const Rest&... rest) {
  append_one(os, v);
  append(os, rest...);
}
}  // namespace detail

// Concatenates its arguments into a message (shapes formatted as [a, b]).
template <class... Args>
std::string str(const Args&... args) {
  std::ostringstream os;
  detail::append(os, args...);
  return os.str();
}

// XG_CHECK(cond, "op: ", "what went wrong ", shape, ...) throws xgrad::Error when cond is false.
#define XG_CHECK(cond, ...)                                        \
  do {                                                             \
    if (!(cond)) throw ::xgrad::Error(::xgrad::str(__VA_ARGS__));  \
  } while (0)

}  // namespace xgrad
