#pragma once
// Reductions along one dim of a contiguous tensor viewed as (outer, R, inner): raw loops that
// the compiler vectorises (xtensor's lazy reducers are ~10x slower here).
#include <algorithm>
#include <cstdint>
#include <limits>

#include "kernels/parallel.hpp"

namespace xgrad::kernels {

// Output (o, i) sums its R inputs in order r = 0, 1, …; the outputs are split over the pool in
// contiguous ranges, so any thread count gives the same bits (a bias gradient sums 8192 rows).
template <class T, class Acc>
void sum_dim(const T* in, Acc* out, int64_t outer, int64_t R, int64_t inner) {
  parallel_for(outer * inner, R, [&](int64_t c0, int64_t c1) {
    for (int64_t o = c0 / inner; o < outer && o * inner < c1; ++o) {
      const int64_t i0 = std::max(c0 - o * inner, int64_t{0}), i1 = std::min(c1 - o * inner, inner);
      const T* src = in + o * R * inner;
      Acc* dst = out + o * inner;
      if (inner == 1) {
        Acc s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t r = 0; r < R; ++r) s += static_cast<Acc>(src[r]);
        *dst = s;
        continue;
      }
      for (int64_t i = i0; i < i1; ++i) dst[i] = 0;
      for (int64_t r = 0; r < R; ++r) {
        const T* row = src + r * inner;
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) dst[i] += static_cast<Acc>(row[i]);
      }
    }
  });
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
