#pragma once
// The global generator behind rand, randn, randint, dropout and nn::init.
//
// Thread safety: every draw of a tensor holds global_generator_mutex() for the whole tensor (as
// PyTorch locks its CPU generator), so threads may draw concurrently; each tensor then takes one
// contiguous stretch of the stream, and which thread gets which stretch depends on timing. Code
// that uses global_generator() directly while other threads draw must hold the mutex itself.
#include <cstdint>
#include <mutex>
#include <random>

namespace xgrad {

void manual_seed(uint64_t seed);
std::mt19937_64& global_generator();
std::mutex& global_generator_mutex();

}  // namespace xgrad
