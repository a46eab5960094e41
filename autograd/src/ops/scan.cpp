// Prefix scans along a dim: cumsum and cumprod, each with its backward.
#include "dims.hpp"
#include "xgrad/grad_mode.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/record.hpp"

namespace xgrad {

using autograd::BackwardCtx;
using autograd::record;
using detail::split_at;
using detail::wrap_dim;

namespace {

// Integer and Bool inputs scan in Int64, floating ones in their own dtype, as PyTorch.
Tensor scan_input(const Tensor& x, std::optional<ScalarType> dtype, const char* op) {
  XG_CHECK(x.defined(), op, ": input is undefined");
  if (dtype) return x.to(*dtype);
  return x.is_floating_point() ? x : x.to(kInt64);
}

template <class F>
Tensor scan(const Tensor& x, int64_t dim, const char* op, F&& step) {
  auto s = split_at(x.sizes(), dim);
  Tensor out = empty(x.sizes(), x.dtype());
  dispatch_numeric(x.dtype(), op, [&]<class T>() {
    const T* in = x.data_ptr<T>();
    T* o = out.data_ptr<T>();
    for (int64_t a = 0; a < s.outer; ++a) {
      const T* src = in + a * s.size * s.inner;
      T* dst = o + a * s.size * s.inner;
      for (int64_t i = 0; i < s.inner; ++i) dst[i] = src[i];
      for (int64_t r = 1; r < s.size; ++r)
        for (int64_t i = 0; i < s.inner; ++i) dst[r * s.inner + i] = step(dst[(r - 1) * s.inner + i], src[r * s.inner + i]);
    }
  });
  return out;
}

// Σ_{j ≥ i} g_j along dim: cumsum's backward.
Tensor reverse_cumsum(const Tensor& g, int64_t dim) { return flip(cumsum(flip(g, {dim}), dim), {dim}); }

}  // namespace

Tensor cumsum(const Tensor& x0, int64_t dim0, std::optional<ScalarType> dtype) {
  Tensor x = scan_input(x0, dtype, "cumsum");
  int64_t dim = wrap_dim(dim0, x.dim(), "cumsum");
  Tensor out = scan(x, dim, "cumsum", [](auto a, auto b) { return a + b; });
  return record("CumsumBackward", {x}, out, {}, [dim](const BackwardCtx& c) -> TensorList {
    return {reverse_cumsum(c.grad, dim)};
  });
}

// d out_j / d x_k = Π_{i ≤ j, i ≠ k} x_i for j ≥ k. Without zeros that is out_j / x_k, so the
// gradient is reverse_cumsum(g·out) / x (differentiable: used under create_graph). With zeros the
// first-order gradient comes from the exact O(n) recurrence below; its second order is refused.
Tensor cumprod(const Tensor& x0, int64_t dim0, std::optional<ScalarType> dtype) {
  Tensor x = scan_input(x0, dtype, "cumprod");
  int64_t dim = wrap_dim(dim0, x.dim(), "cumprod");
  Tensor out = scan(x, dim, "cumprod", [](auto a, auto b) { return a * b; });
  return record("CumprodBackward", {x}, out, {x, out}, [dim](const BackwardCtx& c) -> TensorList {
    const Tensor &in = c.saved[0], &y = c.saved[1];
    bool has_zero;
    {
      NoGradGuard ng;
      has_zero = (in == 0.0).to(kInt64).sum().item<int64_t>() > 0;
    }
    if (!has_zero) return {reverse_cumsum(c.grad * y, dim) / in};
    XG_CHECK(!GradMode::is_enabled(), "cumprod: the second derivative of cumprod at an input containing zeros is not "
             "supported (input shape ", in.sizes(), ")");
    // grad_k = (Π_{i<k} x_i) · S_k with S_k = g_k + x_{k+1}·S_{k+1}, S_{n−1} = g_{n−1}.
    auto s = split_at(in.sizes(), dim);
    Tensor gin = empty(in.sizes(), in.dtype());
    Tensor g = c.grad.to(in.dtype());
    dispatch_floating(in.dtype(), "cumprod", [&]<class T>() {
      const T *px = in.data_ptr<T>(), *pg = g.data_ptr<T>();
      T* po = gin.data_ptr<T>();
      for (int64_t a = 0; a < s.outer; ++a)
        for (int64_t i = 0; i < s.inner; ++i) {
          auto at = [&](int64_t r) { return a * s.size * s.inner + r * s.inner + i; };
          T acc = 0;
          for (int64_t r = s.size - 1; r >= 0; --r) {
            acc = pg[at(r)] + (r + 1 < s.size ? px[at(r + 1)] * acc : T(0));
            po[at(r)] = acc;
          }
          T prefix = 1;
          for (int64_t r = 0; r < s.size; ++r) {
            po[at(r)] *= prefix;
            prefix *= px[at(r)];
          }
        }
    });
    return {gin};
  });
}

}  // namespace xgrad
