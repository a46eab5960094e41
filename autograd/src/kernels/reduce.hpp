#pragma once
// Reductions along one dim of a contiguous tensor viewed as (outer, R, inner): raw loops that
// the compiler vectorises (xtensor's lazy reducers are ~10x slower here).
#include <cstdint>
#include <limits>

namespace xgrad::kernels {

template <class T, class Acc>
void sum_dim(const T* in, Acc* out, int64_t outer, int64_t R, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o) {
    const T* src = in + o * R * inner;
    Acc* dst = out + o * inner;
    if (inner == 1) {
      Acc s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t r = 0; r < R; ++r) s += static_cast<Acc>(src[r]);
      *dst = s;
      continue;
    }
    for (int64_t i = 0; i < inner; ++i) dst[i] = 0;
    for (int64_t r = 0; r < R; ++r) {
      const T* row = src + r * inner;
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) dst[i] += static_cast<Acc>(row[i]);
    }
  }
}

// max (is_max) or min along the dim; NaN wins, as in PyTorch. Optionally the index of the winner.
template <class T>
void extreme_dim(const T* in, T* out, int64_t* index, int64_t outer, int64_t R, int64_t inner, bool is_max) {
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const T* p = in + o * R * inner + i;
      T best = p[0];
      int64_t at = 0;
      for (int64_t r = 1; r < R; ++r) {
        T v = p[r * inner];
        if (best != best) break;  // NaN already
        if (v != v || (is_max ? v > best : v < best)) {
          best = v;
          at = r;
        }
      }
      out[o * inner + i] = best;
      if (index) index[o * inner + i] = at;
    }
  }
}

}  // namespace xgrad::kernels
