#pragma once
// Graph-free elementwise kernels over xtensor expressions (xsimd-vectorised, no temporaries:
// every result is assigned through xt::noalias into a fresh contiguous tensor).
#include <concepts>

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include "kernels/broadcast_loop.hpp"
#include "xgrad/shape.hpp"
#include "xgrad/tensor.hpp"

namespace xgrad::kernels {

// out = f(x), same dtype; x must be floating.
template <class F>
Tensor unary_float(const Tensor& x, const char* op, F&& f) {
  Tensor out = empty(x.sizes(), x.dtype());
  dispatch_floating(x.dtype(), op, [&]<class T>() {
    auto xi = x.xt<T>();
    auto xo = out.xt<T>();
    xt::noalias(xo) = f(xi);
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
    auto xo = out.xt<T>();
    // tensor ∘ scalar: a plain scalar keeps xtensor on its linear SIMD loop (a broadcast 0-d
    // tensor would take the strided one).
    if (b.numel() == 1 && a.sizes() == out.sizes()) {
      auto xa = a.xt<T>();
      xt::noalias(xo) = f(xa, *b.data_ptr<T>());
    } else if (a.numel() == 1 && b.sizes() == out.sizes()) {
      auto xb = b.xt<T>();
      xt::noalias(xo) = f(*a.data_ptr<T>(), xb);
    } else {
      auto xa = a.xt<T>();
      auto xb = b.xt<T>();
      xt::noalias(xo) = f(xa, xb);
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
    auto xs = self.xt<T>();
    auto xo = o.xt<T>();
    f(xs, xo);
  });
}

}  // namespace xgrad::kernels
