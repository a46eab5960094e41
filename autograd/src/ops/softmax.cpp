// Fused softmax and log-softmax: one pass forward, one pass backward (raw loops over the
// (outer, D, inner) layout). Under create_graph the backward is the same formula in tensor ops,
// so the result stays differentiable.
#include <cmath>

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

// y = softmax or log_softmax of x along the middle axis of (outer, D, inner).
template <class T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t D, int64_t inner, bool log) {
  if (inner == 1) {  // contiguous rows: the common case, vectorised; large inputs on all threads
    kernels::parallel_for(outer, D, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      const T* px = x + o * D;
      T* py = y + o * D;
      T m = kernels::row_max(px, D);
      if (std::isinf(m) && m < 0) m = 0;
      const T s = kernels::exp_shifted(px, py, D, m);
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

// softmax: gx = y·(g − Σ g·y);  log_softmax: gx = g − exp(y)·Σ g.
template <class T>
void softmax_backward(const T* g, const T* y, T* gx, int64_t outer, int64_t D, int64_t inner, bool log) {
  if (inner == 1) {
    using B = xsimd::batch<T>;
    const bool stream = kernels::stream_output<T>(outer * D);
    kernels::parallel_for(outer, D, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      const T *pg = g + o * D, *py = y + o * D;
      T* px = gx + o * D;
      if (log) {
        const T s = kernels::row_sum(pg, D);
        const B sb(s);
        kernels::store_row(
            px, D, stream, [&](int64_t d) { return B::load_unaligned(pg + d) - xsimd::exp(B::load_unaligned(py + d)) * sb; },
            [&](int64_t d) { return pg[d] - std::exp(py[d]) * s; });
      } else {
        const T s = kernels::row_dot(pg, py, D);
        const B sb(s);
        kernels::store_row(
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

Tensor softmax_impl(const Tensor& x0, int64_t dim0, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  XG_CHECK(x0.defined(), op, ": input is undefined");
  Tensor x = x0.is_floating_point() ? x0 : x0.to(kFloat32);
  int64_t dim = detail::wrap_dim(dim0, x.dim(), op);
  auto s = detail::split_at(x.sizes(), dim);
  Tensor y = empty_like(x);
  dispatch_floating(x.dtype(), op, [&]<class T>() {
    softmax_forward<T>(x.data_ptr<T>(), y.data_ptr<T>(), s.outer, s.size, s.inner, log);
  });
  return record(log ? "LogSoftmaxBackward" : "SoftmaxBackward", {x}, y, {y},
                [dim, s, log](const BackwardCtx& c) -> TensorList {
                  const Tensor &y = c.saved[0], &g = c.grad;
                  if (GradMode::is_enabled())  // create_graph: the formula in differentiable ops
                    return {log ? g - exp(y) * sum(g, {dim}, true) : y * (g - sum(g * y, {dim}, true))};
                  Tensor gx = empty_like(y);
                  dispatch_floating(y.dtype(), "softmax_backward", [&]<class T>() {
                    softmax_backward<T>(g.data_ptr<T>(), y.data_ptr<T>(), gx.data_ptr<T>(), s.outer, s.size, s.inner,
                                        log);
                  });
                  return {gx};
                });
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, true); }

}  // namespace xgrad
