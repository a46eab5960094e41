#pragma once
// Vectorised row primitives on xsimd batches (xsimd 8 API): glibc's scalar exp/log do not vectorise on their
// own, and softmax-like kernels spend nearly all their time in exp.
#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace xgrad::kernels {

template <class T>
T row_max(const T* x, int64_t n) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = static_cast<int64_t>(B::size);
  int64_t i = 0;
  T m = -std::numeric_limits<T>::infinity();
  if (n >= W) {
    B acc = B::load_unaligned(x);
    for (i = W; i + W <= n; i += W) acc = xsimd::max(acc, B::load_unaligned(x + i));
    alignas(64) T lanes[W];
    acc.store_aligned(lanes);
    for (int64_t k = 0; k < W; ++k) m = std::max(m, lanes[k]);
  }
  for (; i < n; ++i) m = std::max(m, x[i]);
  // A NaN may be skipped here; it still turns its row's exp-sum, and so the whole row, into NaN.
  return m;
}

// y[i] = exp(x[i] − shift); returns Σ y. y may alias x.
template <class T>
T exp_shifted(const T* x, T* y, int64_t n, T shift) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = static_cast<int64_t>(B::size);
  B acc(T(0)), s(shift);
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    B e = xsimd::exp(B::load_unaligned(x + i) - s);
    e.store_unaligned(y + i);
    acc += e;
  }
  T sum = xsimd::hadd(acc);
  for (; i < n; ++i) {
    y[i] = std::exp(x[i] - shift);
    sum += y[i];
  }
  return sum;
}


// Σ_i of a row expression, vectorised in a fixed order: vec(i) gives the batch of terms at
// i..i+W-1 (unaligned loads), scalar(i) one term of the tail. GCC left `omp simd reduction`
// loops scalar in some kernels, and a compiler's alignment peeling would make a row's sum depend
// on where the row starts; this does neither.
template <class T, class V, class S>
T row_reduce(int64_t n, V&& vec, S&& scalar) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = static_cast<int64_t>(B::size);
  B acc0(T(0)), acc1(T(0));  // two accumulators: independent adds in flight
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) acc0 += vec(i), acc1 += vec(i + W);
  if (i + W <= n) acc0 += vec(i), i += W;
  T sum = xsimd::hadd(acc0 + acc1);
  for (; i < n; ++i) sum += scalar(i);
  return sum;
}

template <class T>
T row_sum(const T* x, int64_t n) {
  using B = xsimd::batch<T>;
  return row_reduce<T>(n, [&](int64_t i) { return B::load_unaligned(x + i); }, [&](int64_t i) { return x[i]; });
}

template <class T>
T row_dot(const T* a, const T* b, int64_t n) {
  using B = xsimd::batch<T>;
  return row_reduce<T>(
      n, [&](int64_t i) { return B::load_unaligned(a + i) * B::load_unaligned(b + i); },
      [&](int64_t i) { return a[i] * b[i]; });
}

}  // namespace xgrad::kernels
