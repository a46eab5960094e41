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

}  // namespace

template <class T>
void dropout(const T* x, T* y, int64_t n, uint64_t seed, double p) {
  const uint64_t threshold = keep_threshold(p);
  const T scale = static_cast<T>(dropout_scale(p));
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  parallel_for(blocks, kBlock, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      uint64_t state = splitmix64(seed + static_cast<uint64_t>(b)) | 1;
      const int64_t end = std::min(n, (b + 1) * kBlock);
      for (int64_t i = b * kBlock; i < end; i += 2) {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        const uint64_t r = state * 0x2545F4914F6CDD1DULL;
        const T m0 = (r & 0xffffffffu) >= threshold ? scale : T(0);
        y[i] = x ? x[i] * m0 : m0;
        if (i + 1 < end) {
          const T m1 = (r >> 32) >= threshold ? scale : T(0);
          y[i + 1] = x ? x[i + 1] * m1 : m1;
        }
      }
    }
  });
}

template void dropout<float>(const float*, float*, int64_t, uint64_t, double);
template void dropout<double>(const double*, double*, int64_t, uint64_t, double);

}  // namespace xgrad::kernels
