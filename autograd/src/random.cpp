#include "xgrad/random.hpp"

namespace xgrad {

std::mt19937_64& global_generator() {
  static std::mt19937_64 gen(0x5eed);
  return gen;
}

void manual_seed(uint64_t seed) { global_generator().seed(seed); }

}  // namespace xgrad
