#include "kernels/dropout.hpp"

#include <algorithm>

#include "kernels/parallel.hpp"

namespace xgrad::kernels {

namespace {

constexpr int64_t kBlock = 1 << 14;

uint64_t splitmix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// A 32-bit integer hash with low bias (lowbias32, constants from Wellons' hash prospector):
// a bijection whose every output bit depends on every input bit.
inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x21f0aaadu;
  x ^= x >> 15;
  x *= 0x735a2d97u;
  x ^= x >> 15;
  return x;
}

// The loop over one block: no carried state, so GCC vectorises it (16 lanes with AVX-512).
template <class T, bool kMaskOnly>
void dropout_block(const T* x, T* y, int64_t n, uint32_t k1, uint32_t k2, uint32_t threshold, T scale) {
  for (int64_t j = 0; j < n; ++j) {
    const uint32_t word = mix32(mix32(static_cast<uint32_t>(j) + k1) ^ k2);
    const T m = word >= threshold ? scale : T(0);
    if constexpr (kMaskOnly) {
      y[j] = m;
    } else {
      y[j] = x[j] * m;
    }
  }
}

}  // namespace

template <class T>
void dropout(const T* x, T* y, int64_t n, uint64_t seed, double p) {
  // p = 1 keeps nothing whatever the word (the scale is 0), so the threshold fits 32 bits.
  const auto threshold = static_cast<uint32_t>(std::min<uint64_t>(keep_threshold(p), 0xffffffffu));
  const T scale = static_cast<T>(dropout_scale(p));
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  parallel_for(blocks, kBlock, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const uint64_t key = splitmix64(seed + static_cast<uint64_t>(b));
      const auto k1 = static_cast<uint32_t>(key), k2 = static_cast<uint32_t>(key >> 32);
      const int64_t begin = b * kBlock, len = std::min(n, begin + kBlock) - begin;
      if (x) {
        dropout_block<T, false>(x + begin, y + begin, len, k1, k2, threshold, scale);
      } else {
        dropout_block<T, true>(nullptr, y + begin, len, k1, k2, threshold, scale);
      }
    }
  });
}

template void dropout<float>(const float*, float*, int64_t, uint64_t, double);
template void dropout<double>(const double*, double*, int64_t, uint64_t, double);

}  // namespace xgrad::kernels
