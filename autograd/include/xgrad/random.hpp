#pragma once
// The global generator behind rand, randn, randint and dropout.
#include <cstdint>
#include <random>

namespace xgrad {

void manual_seed(uint64_t seed);
std::mt19937_64& global_generator();

}  // namespace xgrad
