#pragma once
// Dropout's decisions, shared by the dropout op and the fused attention: an element is kept when
// its 32-bit random word is ≥ p·2³², and a kept element is scaled by 1/(1 − p).
#include <cmath>
#include <cstdint>

namespace xgrad::kernels {

// p = 1 keeps nothing: the threshold exceeds every 32-bit word.
inline uint64_t keep_threshold(double p) { return static_cast<uint64_t>(std::ldexp(p, 32)); }
// What a kept element is multiplied by (0 when p = 1: nothing is kept).
inline double dropout_scale(double p) { return p >= 1.0 ? 0.0 : 1.0 / (1.0 - p); }

// y[i] = x[i]·(keep(i) ? scale : 0), as PyTorch's x·mask (a dropped NaN stays NaN); x = nullptr:
// y is the multipliers themselves. Element j of 16 Ki-element block b gets the word
// mix(mix(j + k1) ^ k2), (k1, k2) = splitmix64(seed + b): a counter-based generator, so blocks and
// elements are independent — the same mask at any thread count, a vectorised loop — and a
// backward regenerates the mask from the seed instead of storing it.
template <class T>
void dropout(const T* x, T* y, int64_t n, uint64_t seed, double p);

}  // namespace xgrad::kernels
