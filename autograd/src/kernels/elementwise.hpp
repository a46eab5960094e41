#pragma once
// Graph-free elementwise kernels over xtensor expressions (xsimd-vectorised, no temporaries:
// every result is assigned through xt::noalias into a fresh contiguous tensor).
#include <algorithm>
#include <array>
#include <concepts>

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include "kernels/broadcast_loop.hpp"
#include "kernels/parallel.hpp"
#include "xgrad/shape.hpp"
#include "xgrad/tensor.hpp"

namespace xgrad::kernels {

// Large elementwise work runs over the pool in ranges of whole 64-element blocks: each range
// starts as aligned as the whole array, so SIMD covers the same elements at any thread count.
template <class F>
void for_each_range(int64_t n, F&& f) {
  constexpr int64_t kBlock = 64;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  parallel_for(blocks, kBlock, [&](int64_t b, int64_t e) { f(b * kBlock, std::min(e * kBlock, n)); });
}

// A 1-D view of elements [begin, end) of p.
template <class T>
auto flat(T* p, int64_t begin, int64_t end) {
  std::array<size_t, 1> shape{static_cast<size_t>(end - begin)};
  return xt::adapt(p + begin, shape[0], xt::no_ownership(), shape);
}

// out = f(x), same dtype; x must be floating.
template <class F>
Tensor unary_float(const Tensor& x, const char* op, F&& f) {
  Tensor out = empty(x.sizes(), x.dtype());
  dispatch_floating(x.dtype(), op, [&]<class T>() {
    const T* px = x.data_ptr<T>();
    T* po = out.data_ptr<T>();
    for_each_range(x.numel(), [&](int64_t b, int64_t e) {
      auto xi = flat(px, b, e);
      auto xo = flat(po, b, e);
      xt::noalias(xo) = f(xi);
    });
  });
  return out;
}

// out = f(a, b) for two floating tensors of one shape and dtype, in one pass over the pool: a
// fused backward formula (a gradient and a saved tensor), with no temporaries. (binary_numeric
// also calls f on plain numbers for 1-element operands, which xt::erf/xt::where expressions
// don't support.)
template <class F>
Tensor binary_float_same(const Tensor& a, const Tensor& b, const char* op, F&& f) {
  XG_CHECK(a.sizes() == b.sizes() && a.dtype() == b.dtype(), op, ": operands differ: ", a.sizes(), " ",
           dtype_name(a.dtype()), " and ", b.sizes(), " ", dtype_name(b.dtype()));
  Tensor out = empty(a.sizes(), a.dtype());
  dispatch_floating(a.dtype(), op, [&]<class T>() {
    const T *pa = a.data_ptr<T>(), *pb = b.data_ptr<T>();
    T* po = out.data_ptr<T>();
    for_each_range(a.numel(), [&](int64_t lo, int64_t hi) {
      auto xa = flat(pa, lo, hi);
      auto xb = flat(pb, lo, hi);
      auto xo = flat(po, lo, hi);
      xt::noalias(xo) = f(xa, xb);
    });
  });
  return out;
}

// out = f(a, b) with broadcasting; a and b share a numeric dtype, out has it too.
template <class F>
Tensor binary_numeric(const Tensor& a, const Tensor& b, const char* op, F&& f) {
  XG_CHECK(a.dtype() == b.dtype(), op, ": dtypes differ (", dtype_name(a.dtype()), ", ", dtype_name(b.dtype()), ")");
  Tensor out = empty(broadcast_shapes(a.sizes(), b.sizes(), op), a.dtype());
  dispatch_numeric(a.dtype(), op, [&]<class T>() {
    // One element each (scalars in a graph of tiny tensors): no xtensor adaptors, when f also
    // works on plain numbers.
    if constexpr (requires(T& u, T& v) { { f(u, v) } -> std::same_as<T>; })
      if (a.numel() == 1 && b.numel() == 1) {
        *out.data_ptr<T>() = f(*a.data_ptr<T>(), *b.data_ptr<T>());
        return;
      }
    const T *pa = a.data_ptr<T>(), *pb = b.data_ptr<T>();
    T* po = out.data_ptr<T>();
    // tensor ∘ scalar: a plain scalar keeps xtensor on its linear SIMD loop (a broadcast 0-d
    // tensor would take the strided one).
    if (b.numel() == 1 && a.sizes() == out.sizes()) {
      for_each_range(out.numel(), [&](int64_t lo, int64_t hi) {
        auto xa = flat(pa, lo, hi);
        auto xo = flat(po, lo, hi);
        xt::noalias(xo) = f(xa, *pb);
      });
    } else if (a.numel() == 1 && b.sizes() == out.sizes()) {
      for_each_range(out.numel(), [&](int64_t lo, int64_t hi) {
        auto xb = flat(pb, lo, hi);
        auto xo = flat(po, lo, hi);
        xt::noalias(xo) = f(*pa, xb);
      });
    } else if (a.sizes() == out.sizes() && b.sizes() == out.sizes()) {
      for_each_range(out.numel(), [&](int64_t lo, int64_t hi) {
        auto xa = flat(pa, lo, hi);
        auto xb = flat(pb, lo, hi);
        auto xo = flat(po, lo, hi);
        xt::noalias(xo) = f(xa, xb);
      });
    } else {
      // Broadcasting: ranges of rows of the output's dim 0; an operand spanning that dim is cut
      // to the same rows, one broadcast along it is used whole.
      const int64_t rows = out.dim() ? out.sizes()[0] : 1, inner = out.numel() / std::max<int64_t>(rows, 1);
      auto part = [&](const Tensor& t, auto* p, int64_t r0, int64_t r1) {
        xt::svector<size_t, 4> shape(t.sizes().begin(), t.sizes().end());
        int64_t offset = 0, count = t.numel();
        if (t.dim() == out.dim() && t.dim() > 0 && t.sizes()[0] == rows && rows > 1) {
          const int64_t per_row = t.numel() / rows;
          shape[0] = static_cast<size_t>(r1 - r0);
          offset = r0 * per_row;
          count = (r1 - r0) * per_row;
        }
        // An rvalue pointer: the adaptor keeps it by value (an lvalue would be kept by reference).
        return xt::adapt(p + offset, static_cast<size_t>(count), xt::no_ownership(), shape);
      };
      parallel_for(rows, inner, [&](int64_t r0, int64_t r1) {
        auto xa = part(a, pa, r0, r1);
        auto xb = part(b, pb, r0, r1);
        auto xo = part(out, po, r0, r1);
        xt::noalias(xo) = f(xa, xb);
      });
    }
  });
  return out;
}

// out = f(a[i], b[j]) as Bool, with broadcasting; a and b share any dtype. (Raw loop: xsimd's
// batch_bool can't be assigned into a Bool tensor.)
template <class F>
Tensor binary_to_bool(const Tensor& a, const Tensor& b, const char* op, F&& f) {
  XG_CHECK(a.dtype() == b.dtype(), op, ": dtypes differ (", dtype_name(a.dtype()), ", ", dtype_name(b.dtype()), ")");
  Tensor out = empty(broadcast_shapes(a.sizes(), b.sizes(), op), kBool);
  dispatch(a.dtype(), [&]<class T>() {
    const T *pa = a.data_ptr<T>(), *pb = b.data_ptr<T>();
    bool* po = out.data_ptr<bool>();
    broadcast_for_each<2>(out.sizes(), {&a.sizes(), &b.sizes()},
                          [&](int64_t i, int64_t ia, int64_t ib) { po[i] = f(pa[ia], pb[ib]); });
  });
  return out;
}

// self op= f(other) in place; other must broadcast to self's shape.
template <class F>
void inplace_numeric(const Tensor& self, const Tensor& other, const char* op, F&& f) {
  Shape out = broadcast_shapes(self.sizes(), other.sizes(), op);
  XG_CHECK(out == self.sizes(), op, ": output with shape ", self.sizes(),
           " doesn't match the broadcast shape ", out);
  Tensor o = other.dtype() == self.dtype() ? other : other.to(self.dtype());
  dispatch_numeric(self.dtype(), op, [&]<class T>() {
    T* ps = self.data_ptr<T>();
    const T* po = o.data_ptr<T>();
    // A scalar operand (grad.mul_(coef)) or one of self's shape: linear loops over the pool.
    if (o.numel() == 1 || o.sizes() == self.sizes()) {
      const bool scalar = o.numel() == 1 && self.numel() != 1;
      for_each_range(self.numel(), [&](int64_t lo, int64_t hi) {
        auto xs = flat(ps, lo, hi);
        if (scalar) {
          auto xo = xt::xscalar<const T&>(*po);
          f(xs, xo);
        } else {
          auto xo = flat(po, lo, hi);
          f(xs, xo);
        }
      });
      return;
    }
    auto xs = self.xt<T>();
    auto xo = o.xt<T>();
    f(xs, xo);
  });
}

}  // namespace xgrad::kernels
