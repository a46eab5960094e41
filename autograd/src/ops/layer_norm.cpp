// Fused layer norm over the trailing normalized_shape: forward saves (mean, rstd) per row as
// llm.c does; backward is one pass. Under create_graph the same formulas run as tensor ops.
#include <cmath>
#include <vector>

#include "kernels/parallel.hpp"
#include "kernels/vec_math.hpp"
#include "ops/dims.hpp"
#include "xgrad/grad_mode.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/record.hpp"

namespace xgrad {

using autograd::BackwardCtx;
using autograd::record;

namespace {

template <class T>
void layer_norm_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t rows, int64_t D,
                        double eps) {
  using B = xsimd::batch<T>;
  const bool stream = kernels::stream_output<T>(rows * D);
  kernels::parallel_for(rows, D, [&](int64_t begin, int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
    const T* px = x + r * D;
    const T m = kernels::row_sum(px, D) / static_cast<T>(D);
    const B mb(m);
    const T v = kernels::row_reduce<T>(
        D, [&](int64_t i) { const B c = B::load_unaligned(px + i) - mb; return c * c; },
        [&](int64_t i) { return (px[i] - m) * (px[i] - m); });
    const T rs = T(1) / std::sqrt(v / static_cast<T>(D) + static_cast<T>(eps));
    const B rb(rs);
    T* py = y + r * D;
    if (w && b)
      kernels::store_row(
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
    const auto [sum_dn, sum_dn_xc] = kernels::row_reduce2<T>(
        D, [&](int64_t i) { const B dn = dn_at(i); return std::pair{dn, dn * (B::load_unaligned(px + i) - mb)}; },
        [&](int64_t i) { return std::pair{dn_of(i), dn_of(i) * (px[i] - m)}; });
    const T a = sum_dn / static_cast<T>(D), c = rs * sum_dn_xc / static_cast<T>(D);
    const B ab(a), cb(c);
    // dx row by row (streamed past the caches when large); dw and db summed on the way.
    kernels::store_row(
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
  const int chunks = kernels::parallel_chunks(rows, D);
  const bool stream = dx && kernels::stream_output<T>(rows * D);
  // Per chunk: its own dw and db (chunk 0 writes the outputs), and a scratch row standing in for
  // any output nobody asked for. The common case (one chunk, all three wanted) needs none.
  const bool scratch = chunks > 1 || !dx || !dw || !db;
  std::vector<T> partial(scratch ? static_cast<size_t>(3 * chunks * D) : 0, T(0));
  kernels::parallel_for(rows, chunks, [&](int c, int64_t begin, int64_t end) {
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

}  // namespace

Tensor layer_norm(const Tensor& x0, const Shape& normalized_shape, const Tensor& w0, const Tensor& b0, double eps) {
  XG_CHECK(x0.defined(), "layer_norm: input is undefined");
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  bool fits = k >= 1 && k <= x0.dim() &&
              std::equal(normalized_shape.begin(), normalized_shape.end(), x0.sizes().end() - k);
  XG_CHECK(fits, "layer_norm: input shape ", x0.sizes(), " doesn't end with normalized_shape ", normalized_shape);
  XG_CHECK(!w0.defined() || w0.sizes() == normalized_shape, "layer_norm: weight shape ", w0.sizes(),
           " must equal normalized_shape ", normalized_shape);
  XG_CHECK(!b0.defined() || b0.sizes() == normalized_shape, "layer_norm: bias shape ", b0.sizes(),
           " must equal normalized_shape ", normalized_shape);
  XG_CHECK(eps >= 0, "layer_norm: eps must be non-negative, got ", eps);
  XG_CHECK(x0.is_floating_point(), "layer_norm: expected a floating input, got ", dtype_name(x0.dtype()));
  const ScalarType t = x0.dtype();
  Tensor x = x0, w = w0.defined() ? w0.to(t) : w0, b = b0.defined() ? b0.to(t) : b0;
  int64_t D = 1;
  for (int64_t s : normalized_shape) D *= s;
  const int64_t rows = D == 0 ? 0 : x.numel() / D;
  Tensor y = empty_like(x), mu = empty({rows}, t), rstd = empty({rows}, t);
  dispatch_floating(t, "layer_norm", [&]<class T>() {
    layer_norm_forward<T>(x.data_ptr<T>(), w.defined() ? w.data_ptr<T>() : nullptr,
                          b.defined() ? b.data_ptr<T>() : nullptr, y.data_ptr<T>(), mu.data_ptr<T>(),
                          rstd.data_ptr<T>(), rows, D, eps);
  });
  Shape dims;
  for (int64_t i = x.dim() - k; i < x.dim(); ++i) dims.push_back(i);
  return record("LayerNormBackward", {x, w, b}, y, {x, w, mu, rstd},
                [rows, D, dims, eps, ns = normalized_shape](const BackwardCtx& c) -> TensorList {
                  const Tensor &X = c.saved[0], &W = c.saved[1], &g = c.grad;
                  if (GradMode::is_enabled()) {  // create_graph: the same formulas as tensor ops
                    Tensor m = mean(X, dims, true);
                    Tensor rs = rsqrt(var(X, dims, 0, true) + eps);
                    Tensor n = (X - m) * rs;
                    Tensor dn = W.defined() ? g * W : g;
                    Tensor dx = rs * (dn - mean(dn, dims, true) - n * mean(dn * n, dims, true));
                    return {dx, W.defined() ? g * n : Tensor(), c.needs_input_grad(2) ? g : Tensor()};
                  }
                  Tensor dx = c.needs_input_grad(0) ? empty_like(X) : Tensor();
                  Tensor dw = c.needs_input_grad(1) ? zeros_like(W) : Tensor();
                  Tensor db = c.needs_input_grad(2) ? zeros(ns, X.dtype()) : Tensor();
                  dispatch_floating(X.dtype(), "layer_norm_backward", [&]<class T>() {
                    auto ptr = [](const Tensor& t) { return t.defined() ? t.data_ptr<T>() : nullptr; };
                    layer_norm_backward<T>(g.data_ptr<T>(), X.data_ptr<T>(), ptr(W), c.saved[2].data_ptr<T>(),
                                           c.saved[3].data_ptr<T>(), ptr(dx), ptr(dw), ptr(db), rows, D);
                  });
                  return {dx, dw, db};
                });
}

}  // namespace xgrad
