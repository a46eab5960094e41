#include "kernels/dropout.hpp"

#include "kernels/parallel.hpp"

namespace xgrad::kernels {

template <class T>
void dropout(const T* x, T* y, int64_t n, uint64_t seed, double p) {
  const int64_t blocks = (n + kDropoutBlock - 1) / kDropoutBlock;
  parallel_for(blocks, kDropoutBlock, [&](int64_t b0, int64_t b1) {
    const int64_t begin = b0 * kDropoutBlock, end = std::min(n, b1 * kDropoutBlock);
    dropout_span<T>(seed, static_cast<uint64_t>(begin), end - begin, p, x ? x + begin : nullptr, y + begin);
  });
}

template void dropout<float>(const float*, float*, int64_t, uint64_t, double);
template void dropout<double>(const double*, double*, int64_t, uint64_t, double);

}  // namespace xgrad::kernels
