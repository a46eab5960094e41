#include "kernels/layer_norm.hpp"

#include <cmath>
#include <utility>
#include <vector>

#include "kernels/parallel.hpp"
#include "kernels/vec_math.hpp"

namespace xgrad::kernels {

template <class T>
void layer_norm_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t rows, int64_t D,
                        double eps) {
  using B = xsimd::batch<T>;
  const bool stream = stream_output<T>(rows * D);
  parallel_for(rows, D, [&](int64_t begin, int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
    const T* px = x + r * D;
    const T m = row_sum(px, D) / static_cast<T>(D);
    const B mb(m);
    const T v = row_reduce<T>(
        D, [&](int64_t i) { const B c = B::load_unaligned(px + i) - mb; return c * c; },
        [&](int64_t i) { return (px[i] - m) * (px[i] - m); });
    const T rs = T(1) / std::sqrt(v / static_cast<T>(D) + static_cast<T>(eps));
    const B rb(rs);
    T* py = y + r * D;
    if (w && b)
      store_row(
          py, D, stream,
          [&](int64_t i) { return (B::load_unaligned(px + i) - mb) * rb * B::load_unaligned(w + i) + B::load_unaligned(b + i); },
          [&](int64_t i) { return (px[i] - m) * rs * w[i] + b[i]; });
    else
      for (int64_t i = 0; i < D; ++i) {
        T n = (px[i] - m) * rs;
        py[i] = (w ? n * w[i] : n) + (b ? b[i] : T(0));
      }
    mean[r] = m;
    rstd[r] = rs;
  }
  });
}

// dx = rstd·(dn − mean(dn) − n·mean(dn·n)) with n = (x−mean)·rstd, dn = g·w; dw += g·n; db += g.
// kWeight: w is given (the branch is hoisted out of the vectorised loops). dx, dw and db are
// always written (the caller points unwanted ones at scratch, dx_stride 0), so the one loop has
// no branches and vectorises.
template <class T, bool kWeight>
void layer_norm_backward_rows(const T* g, const T* x, const T* w, const T* mean, const T* rstd, T* dx,
                              int64_t dx_stride, T* dw, T* db, int64_t rows, int64_t D, bool stream) {
  using B = xsimd::batch<T>;
  for (int64_t r = 0; r < rows; ++r) {
    const T *pg = g + r * D, *px = x + r * D;
    const T m = mean[r], rs = rstd[r];
    const B mb(m), rb(rs);
    auto dn_at = [&](int64_t i) { return kWeight ? B::load_unaligned(pg + i) * B::load_unaligned(w + i) : B::load_unaligned(pg + i); };
    auto dn_of = [&](int64_t i) { return kWeight ? pg[i] * w[i] : pg[i]; };
    // Σ dn and Σ dn·(x − mean) in one pass: g and x stream in from memory together.
    const auto [sum_dn, sum_dn_xc] = row_reduce2<T>(
        D, [&](int64_t i) { const B dn = dn_at(i); return std::pair{dn, dn * (B::load_unaligned(px + i) - mb)}; },
        [&](int64_t i) { return std::pair{dn_of(i), dn_of(i) * (px[i] - m)}; });
    const T a = sum_dn / static_cast<T>(D), c = rs * sum_dn_xc / static_cast<T>(D);
    const B ab(a), cb(c);
    // dx row by row (streamed past the caches when large); dw and db summed on the way.
    store_row(
        dx + r * dx_stride, D, stream,
        [&](int64_t i) {
          const B gi = B::load_unaligned(pg + i), n = (B::load_unaligned(px + i) - mb) * rb;
          (B::load_unaligned(dw + i) + gi * n).store_unaligned(dw + i);
          (B::load_unaligned(db + i) + gi).store_unaligned(db + i);
          return rb * (dn_at(i) - ab - n * cb);
        },
        [&](int64_t i) {
          const T n = (px[i] - m) * rs;
          dw[i] += pg[i] * n;
          db[i] += pg[i];
          return rs * (dn_of(i) - a - n * c);
        });
  }
}

// Row chunks run on all threads; each chunk sums its dw/db into a buffer of its own, and the
// buffers are added in chunk order (the result depends on the thread count, not on timing).
template <class T>
void layer_norm_backward(const T* g, const T* x, const T* w, const T* mean, const T* rstd, T* dx, T* dw, T* db,
                         int64_t rows, int64_t D) {
  const int chunks = parallel_chunks(rows, D);
  const bool stream = dx && stream_output<T>(rows * D);
  // Per chunk: its own dw and db (chunk 0 writes the outputs), and a scratch row standing in for
  // any output nobody asked for. The common case (one chunk, all three wanted) needs none.
  const bool scratch = chunks > 1 || !dx || !dw || !db;
  std::vector<T> partial(scratch ? static_cast<size_t>(3 * chunks * D) : 0, T(0));
  parallel_for(rows, chunks, [&](int c, int64_t begin, int64_t end) {
    T* own = scratch ? partial.data() + 3 * c * D : nullptr;  // only read where scratch is set
    T* cdw = dw && c == 0 ? dw : own;
    T* cdb = db && c == 0 ? db : own + D;
    const int64_t off = begin * D, n = end - begin;
    T* cdx = dx ? dx + off : own + 2 * D;
    const int64_t stride = dx ? D : 0;
    if (w) layer_norm_backward_rows<T, true>(g + off, x + off, w, mean + begin, rstd + begin, cdx, stride, cdw, cdb, n, D, stream);
    else layer_norm_backward_rows<T, false>(g + off, x + off, w, mean + begin, rstd + begin, cdx, stride, cdw, cdb, n, D, stream);
  });
  for (int c = 1; c < chunks; ++c) {
    const T* p = partial.data() + 3 * c * D;
    if (dw)
      for (int64_t i = 0; i < D; ++i) dw[i] += p[i];
    if (db)
      for (int64_t i = 0; i < D; ++i) db[i] += p[D + i];
  }
}

template void layer_norm_forward<float>(const float*, const float*, const float*, float*, float*, float*, int64_t,
                                        int64_t, double);
template void layer_norm_forward<double>(const double*, const double*, const double*, double*, double*, double*,
                                         int64_t, int64_t, double);
template void layer_norm_backward<float>(const float*, const float*, const float*, const float*, const float*, float*,
                                         float*, float*, int64_t, int64_t);
template void layer_norm_backward<double>(const double*, const double*, const double*, const double*, const double*,
                                          double*, double*, double*, int64_t, int64_t);

}  // namespace xgrad::kernels
