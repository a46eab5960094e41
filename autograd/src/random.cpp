#include "xgrad/random.hpp"

namespace xgrad {

std::mt19937_64& global_generator() {
  static std::mt19937_64 gen(0x5eed);
  return gen;
}

std::mutex& global_generator_mutex() {
  static std::mutex m;
  return m;
}

void manual_seed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(global_generator_mutex());
  global_generator().seed(seed);
}

}  // namespace xgrad
