#include "kernels/cross_entropy.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/parallel.hpp"
#include "kernels/vec_math.hpp"

namespace xgrad::kernels {

template <class T>
double cross_entropy_forward(const T* x, const int64_t* target, const T* w, int64_t N, int64_t C,
                             double label_smoothing, int64_t ignore_index, T* loss, T* lse) {
  using B = xsimd::batch<T>;
  const double eps = label_smoothing;
  const int chunks = parallel_chunks(N, C);
  std::vector<double> denoms(static_cast<size_t>(chunks), 0.0);  // per chunk, added in order below
  parallel_for(N, chunks, [&](int chunk, int64_t begin, int64_t end) {
    std::vector<T> scratch(static_cast<size_t>(C));
    for (int64_t i = begin; i < end; ++i) {
      const T* row = x + i * C;
      const T m = row_max(row, C);
      const T l = m + std::log(exp_shifted(row, scratch.data(), C, m));
      lse[i] = l;
      const int64_t t = target[i];
      if (t == ignore_index) {
        loss[i] = 0;
        continue;
      }
      const T wt = w ? w[t] : T(1);
      denoms[static_cast<size_t>(chunk)] += wt;
      const B lb(l);
      const T smooth =  // Σ_c w_c·(lse − x_c)
          eps == 0 ? T(0)
          : w      ? row_reduce<T>(
                     C, [&](int64_t c) { return B::load_unaligned(w + c) * (lb - B::load_unaligned(row + c)); },
                     [&](int64_t c) { return w[c] * (l - row[c]); })
                   : row_reduce<T>(
                     C, [&](int64_t c) { return lb - B::load_unaligned(row + c); }, [&](int64_t c) { return l - row[c]; });
      loss[i] = T(1 - eps) * wt * (l - row[t]) + T(eps / C) * smooth;
    }
  });
  double denom = 0;
  for (double d : denoms) denom += d;
  return denom;
}

template <class T>
void cross_entropy_backward(const T* x, const int64_t* target, const T* w, const T* lse, const T* scale,
                            bool per_row_scale, int64_t N, int64_t C, double label_smoothing, int64_t ignore_index,
                            T* dx) {
  using B = xsimd::batch<T>;
  const double eps = label_smoothing;
  T wsum = 0;
  for (int64_t k = 0; k < C; ++k) wsum += w ? w[k] : T(1);
  const bool stream = stream_output<T>(N * C);
  parallel_for(N, C, [&](int64_t begin, int64_t end) {
    // Streaming: the row is built in a scratch row, then stored once past the caches.
    std::vector<T> scratch(stream ? static_cast<size_t>(C) : 0);
    for (int64_t i = begin; i < end; ++i) {
      T* out = dx + i * C;
      const int64_t t = target[i];
      if (t == ignore_index) {
        std::fill(out, out + C, T(0));
        continue;
      }
      const T s = per_row_scale ? scale[i] : scale[0];
      const T a = s * T(1 - eps) * (w ? w[t] : T(1)), b = s * T(eps / C);
      T* p = stream ? scratch.data() : out;
      exp_shifted(x + i * C, p, C, lse[i]);  // p = the softmax row
      if (w) {
        for (int64_t k = 0; k < C; ++k) p[k] = a * p[k] + b * (p[k] * wsum - w[k]);
      } else {
#pragma omp simd
        for (int64_t k = 0; k < C; ++k) p[k] = (a + b * wsum) * p[k] - b;
      }
      p[t] -= a;
      if (stream)
        store_row(out, C, true, [&](int64_t k) { return B::load_unaligned(p + k); }, [&](int64_t k) { return p[k]; });
    }
  });
}

template double cross_entropy_forward<float>(const float*, const int64_t*, const float*, int64_t, int64_t, double,
                                             int64_t, float*, float*);
template double cross_entropy_forward<double>(const double*, const int64_t*, const double*, int64_t, int64_t, double,
                                              int64_t, double*, double*);
template void cross_entropy_backward<float>(const float*, const int64_t*, const float*, const float*, const float*,
                                            bool, int64_t, int64_t, double, int64_t, float*);
template void cross_entropy_backward<double>(const double*, const int64_t*, const double*, const double*,
                                             const double*, bool, int64_t, int64_t, double, int64_t, double*);

}  // namespace xgrad::kernels
