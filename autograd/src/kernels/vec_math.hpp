#pragma once
// Vectorised row primitives on xsimd batches (xsimd 8 API): glibc's scalar exp/log do not vectorise on their
// own, and softmax-like kernels spend nearly all their time in exp.
#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

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

// Σ_i of two row expressions in one pass (two input streams read together): vec(i) gives the
// pair of batches at i..i+W-1, scalar(i) the pair of terms of the tail. Same fixed order as
// row_reduce.
template <class T, class V, class S>
std::pair<T, T> row_reduce2(int64_t n, V&& vec, S&& scalar) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = static_cast<int64_t>(B::size);
  B a0(T(0)), a1(T(0)), b0(T(0)), b1(T(0));
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    const auto [x0, y0] = vec(i);
    const auto [x1, y1] = vec(i + W);
    a0 += x0, b0 += y0, a1 += x1, b1 += y1;
  }
  if (i + W <= n) {
    const auto [x0, y0] = vec(i);
    a0 += x0, b0 += y0, i += W;
  }
  T sa = xsimd::hadd(a0 + a1), sb = xsimd::hadd(b0 + b1);
  for (; i < n; ++i) {
    const auto [x, y] = scalar(i);
    sa += x, sb += y;
  }
  return {sa, sb};
}

// Outputs at least this large bypass the caches (streaming stores): they will not be read again
// before they are evicted, and a normal store first reads each line from DRAM (measured: softmax
// backward 20%, layer norm backward 30% faster on 16 MB). Smaller outputs stay in cache for the
// next op.
inline constexpr int64_t kStreamBytes = int64_t{8} << 20;

// Whether an output of n elements of T is large enough to stream.
template <class T>
bool stream_output(int64_t n) {
  return n * static_cast<int64_t>(sizeof(T)) >= kStreamBytes;
}

// Stores one batch at p (aligned to the batch size) around the caches where the ISA can.
template <class T>
void stream_store(T* p, const xsimd::batch<T>& v) {
#if defined(__AVX512F__)
  if constexpr (sizeof(v) == 64) {
    if constexpr (std::is_same_v<T, float>) return _mm512_stream_ps(p, v);
    else return _mm512_stream_pd(p, v);
  }
#endif
#if defined(__AVX__)
  if constexpr (sizeof(v) == 32) {
    if constexpr (std::is_same_v<T, float>) return _mm256_stream_ps(p, v);
    else return _mm256_stream_pd(p, v);
  }
#endif
#if defined(__SSE2__)
  if constexpr (sizeof(v) == 16) {
    if constexpr (std::is_same_v<T, float>) return _mm_stream_ps(p, v);
    else return _mm_stream_pd(p, v);
  }
#endif
  v.store_aligned(p);
}

// Streaming stores are weakly ordered: a thread calls this after its last one, before anyone
// else may read what it wrote. parallel_for does it at the end of every chunk.
inline void stream_fence() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

// out[i] for i in [0, n): vec(i) gives the batch at i..i+W-1, scalar(i) one element; each index
// is produced exactly once and in order, so the callbacks may also update other arrays at i.
// With `stream`, the aligned middle goes through streaming stores (fenced by parallel_for).
template <class T, class V, class S>
void store_row(T* out, int64_t n, bool stream, V&& vec, S&& scalar) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = static_cast<int64_t>(B::size);
  int64_t i = 0;
  if (stream) {
    constexpr auto align = sizeof(B);
    for (; i < n && reinterpret_cast<uintptr_t>(out + i) % align != 0; ++i) out[i] = scalar(i);
    for (; i + W <= n; i += W) stream_store(out + i, vec(i));
  } else {
    for (; i + W <= n; i += W) vec(i).store_unaligned(out + i);
  }
  for (; i < n; ++i) out[i] = scalar(i);
}

}  // namespace xgrad::kernels
