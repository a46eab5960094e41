#include "kernels/softmax.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/parallel.hpp"
#include "kernels/vec_math.hpp"

namespace xgrad::kernels {

template <class T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t D, int64_t inner, bool log) {
  if (inner == 1) {  // contiguous rows: the common case, vectorised; large inputs on all threads
    parallel_for(outer, D, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      const T* px = x + o * D;
      T* py = y + o * D;
      T m = row_max(px, D);
      if (std::isinf(m) && m < 0) m = 0;
      const T s = exp_shifted(px, py, D, m);
      if (log) {
        const T ls = std::log(s) + m;
#pragma omp simd
        for (int64_t d = 0; d < D; ++d) py[d] = px[d] - ls;
      } else {
        const T r = T(1) / s;
#pragma omp simd
        for (int64_t d = 0; d < D; ++d) py[d] *= r;
      }
    }
    });
    return;
  }
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const T* px = x + o * D * inner + i;
      T* py = y + o * D * inner + i;
      T m = -INFINITY;
      for (int64_t d = 0; d < D; ++d) m = std::max(m, px[d * inner]);
      if (std::isinf(m) && m < 0) m = 0;  // a row of -inf: exp gives 0s, as PyTorch (NaN out)
      T s = 0;
      for (int64_t d = 0; d < D; ++d) {
        T e = std::exp(px[d * inner] - m);
        py[d * inner] = e;
        s += e;
      }
      if (log) {
        T ls = std::log(s) + m;
        for (int64_t d = 0; d < D; ++d) py[d * inner] = px[d * inner] - ls;
      } else {
        T r = T(1) / s;
        for (int64_t d = 0; d < D; ++d) py[d * inner] *= r;
      }
    }
}

template <class T>
void softmax_backward(const T* g, const T* y, T* gx, int64_t outer, int64_t D, int64_t inner, bool log) {
  if (inner == 1) {
    using B = xsimd::batch<T>;
    const bool stream = stream_output<T>(outer * D);
    parallel_for(outer, D, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      const T *pg = g + o * D, *py = y + o * D;
      T* px = gx + o * D;
      if (log) {
        const T s = row_sum(pg, D);
        const B sb(s);
        store_row(
            px, D, stream, [&](int64_t d) { return B::load_unaligned(pg + d) - xsimd::exp(B::load_unaligned(py + d)) * sb; },
            [&](int64_t d) { return pg[d] - std::exp(py[d]) * s; });
      } else {
        const T s = row_dot(pg, py, D);
        const B sb(s);
        store_row(
            px, D, stream, [&](int64_t d) { return B::load_unaligned(py + d) * (B::load_unaligned(pg + d) - sb); },
            [&](int64_t d) { return py[d] * (pg[d] - s); });
      }
    }
    });
    return;
  }
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * D * inner + i;
      T s = 0;
      for (int64_t d = 0; d < D; ++d) s += log ? g[base + d * inner] : g[base + d * inner] * y[base + d * inner];
      for (int64_t d = 0; d < D; ++d) {
        const int64_t k = base + d * inner;
        gx[k] = log ? g[k] - std::exp(y[k]) * s : y[k] * (g[k] - s);
      }
    }
}

template void softmax_forward<float>(const float*, float*, int64_t, int64_t, int64_t, bool);
template void softmax_forward<double>(const double*, double*, int64_t, int64_t, int64_t, bool);
template void softmax_backward<float>(const float*, const float*, float*, int64_t, int64_t, int64_t, bool);
template void softmax_backward<double>(const double*, const double*, double*, int64_t, int64_t, int64_t, bool);

}  // namespace xgrad::kernels
