// Reductions over dims, each with its backward.
#include <cmath>

#include "kernels/reduce.hpp"
#include "dims.hpp"
#include "xgrad/grad_mode.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/record.hpp"

namespace xgrad {

using autograd::BackwardCtx;
using autograd::record;
using detail::reduced_shape;
using detail::split_at;
using detail::wrap_dims;

namespace {

// Sums (or max/min) over `dims` one dim at a time, keeping dims; returns the keepdim shape.
Tensor sum_kernel(const Tensor& x, const Shape& dims) {
  ScalarType out_t = x.is_floating_point() ? x.dtype() : kInt64;
  Tensor cur = x.to(out_t);
  for (auto it = dims.rbegin(); it != dims.rend(); ++it) {
    auto s = split_at(cur.sizes(), *it);
    Shape shape = cur.sizes();
    shape[*it] = 1;
    Tensor next = empty(shape, out_t);
    dispatch_numeric(out_t, "sum", [&]<class T>() {
      kernels::sum_dim<T, T>(cur.data_ptr<T>(), next.data_ptr<T>(), s.outer, s.size, s.inner);
    });
    cur = next;
  }
  return cur.is_same(x) ? detail::alias(x.clone(), x.sizes()) : cur;
}

Tensor extreme_kernel(const Tensor& x, const Shape& dims, bool is_max, const char* op) {
  Tensor cur = x;
  for (auto it = dims.rbegin(); it != dims.rend(); ++it) {
    XG_CHECK(cur.sizes()[*it] > 0, op, ": cannot reduce over dim ", *it, " of size 0 (shape ", x.sizes(), ")");
    auto s = split_at(cur.sizes(), *it);
    Shape shape = cur.sizes();
    shape[*it] = 1;
    Tensor next = empty(shape, x.dtype());
    dispatch_numeric(x.dtype(), op, [&]<class T>() {
      kernels::extreme_dim<T>(cur.data_ptr<T>(), next.data_ptr<T>(), nullptr, s.outer, s.size, s.inner, is_max);
    });
    cur = next;
  }
  return cur.is_same(x) ? detail::alias(x.clone(), x.sizes()) : cur;
}

// Gradient of a reduction: g (reduced shape) reshaped to keepdim form and expanded back.
Tensor expand_back(const Tensor& g, const Shape& keep_shape, const Shape& in_shape) {
  return expand(reshape(g, keep_shape), in_shape);
}

}  // namespace

Tensor sum(const Tensor& x) { return sum(x, {}, false); }

Tensor sum(const Tensor& x, const Shape& dims0, bool keepdim) {
  XG_CHECK(x.defined(), "sum: input is undefined");
  Shape dims = wrap_dims(dims0, x.dim(), "sum");
  Shape keep = reduced_shape(x.sizes(), dims, true);
  Tensor out = detail::alias(sum_kernel(detail::alias(x, x.sizes()), dims), reduced_shape(x.sizes(), dims, keepdim));
  if (!x.is_floating_point()) return out;
  return record("SumBackward", {x}, out, {}, [keep, in = x.sizes()](const BackwardCtx& c) -> TensorList {
    return {expand_back(c.grad, keep, in)};
  });
}

Tensor mean(const Tensor& x) { return mean(x, {}, false); }

Tensor mean(const Tensor& x, const Shape& dims0, bool keepdim) {
  XG_CHECK(x.defined() && x.is_floating_point(), "mean: input dtype must be floating, got ",
           x.defined() ? dtype_name(x.dtype()) : "undefined");
  Shape dims = wrap_dims(dims0, x.dim(), "mean");
  int64_t n = 1;
  for (int64_t d : dims) n *= x.sizes()[d];
  return sum(x, dims, keepdim) / static_cast<double>(n);
}

Tensor var(const Tensor& x, int64_t correction) { return var(x, {}, correction, false); }

Tensor var(const Tensor& x, const Shape& dims0, int64_t correction, bool keepdim) {
  XG_CHECK(x.defined() && x.is_floating_point(), "var: input dtype must be floating");
  Shape dims = wrap_dims(dims0, x.dim(), "var");
  int64_t n = 1;
  for (int64_t d : dims) n *= x.sizes()[d];
  Tensor d = x - mean(x, dims, true);
  return sum(d * d, dims, keepdim) / static_cast<double>(std::max<int64_t>(n - correction, 0));
}

namespace {
Tensor amax_amin(const Tensor& x, const Shape& dims0, bool keepdim, bool is_max) {
  const char* op = is_max ? "amax" : "amin";
  XG_CHECK(x.defined() && x.dtype() != kBool, op, ": needs a numeric tensor");
  Shape dims = wrap_dims(dims0, x.dim(), op);
  Shape keep = reduced_shape(x.sizes(), dims, true);
  Tensor yk = extreme_kernel(detail::alias(x, x.sizes()), dims, is_max, op);
  Tensor out = detail::alias(yk, reduced_shape(x.sizes(), dims, keepdim));
  if (!x.is_floating_point()) return out;
  // The gradient is shared equally among the elements that attain the extreme.
  return record(is_max ? "AmaxBackward" : "AminBackward", {x}, out, {x, yk},
                [keep, dims](const BackwardCtx& c) -> TensorList {
                  Tensor mask = (c.saved[0] == c.saved[1]).to(c.grad.dtype());
                  Tensor count = sum(mask, dims, true);
                  return {reshape(c.grad, keep) * mask / count};
                });
}
}  // namespace

Tensor amax(const Tensor& x, const Shape& dims, bool keepdim) { return amax_amin(x, dims, keepdim, true); }
Tensor amin(const Tensor& x, const Shape& dims, bool keepdim) { return amax_amin(x, dims, keepdim, false); }

Tensor logsumexp(const Tensor& x, const Shape& dims0, bool keepdim) {
  XG_CHECK(x.defined() && x.is_floating_point(), "logsumexp: input dtype must be floating");
  Shape dims = wrap_dims(dims0, x.dim(), "logsumexp");
  Tensor m;
  {
    NoGradGuard ng;  // the shift is a constant: it cancels in the gradient
    m = amax(x, dims, true);
    m = where(abs(m) == INFINITY, 0.0, m);
  }
  Tensor out = log(sum(exp(x - m), dims, true)) + m;
  return keepdim ? out : reshape(out, reduced_shape(x.sizes(), dims, false));
}

Tensor std(const Tensor& x, int64_t correction) { return std(x, {}, correction, false); }

Tensor std(const Tensor& x, const Shape& dims, int64_t correction, bool keepdim) {
  XG_CHECK(x.defined() && x.is_floating_point(), "std: input dtype must be floating");
  return sqrt(var(x, dims, correction, keepdim));
}

Tensor norm(const Tensor& x, double p) { return linalg_vector_norm(x, p, {}, false); }
Tensor norm(const Tensor& x, double p, const Shape& dims, bool keepdim) { return linalg_vector_norm(x, p, dims, keepdim); }

// ‖x‖_p = (Σ|x|^p)^(1/p), with ∂/∂x = sign(x)·|x|^(p−1) / ‖x‖^(p−1) (x/‖x‖ for p = 2), taken as 0
// where the norm is 0 (the composite formula would give 0/0 there).
Tensor linalg_vector_norm(const Tensor& x, double ord, const Shape& dims0, bool keepdim) {
  XG_CHECK(x.defined() && x.is_floating_point(), "linalg_vector_norm: input dtype must be floating, got ",
           x.defined() ? dtype_name(x.dtype()) : "undefined");
  XG_CHECK(!std::isnan(ord), "linalg_vector_norm: ord must not be NaN");
  Shape dims = wrap_dims(dims0, x.dim(), "linalg_vector_norm");
  if (std::isinf(ord)) return ord > 0 ? amax(abs(x), dims, keepdim) : amin(abs(x), dims, keepdim);
  if (ord == 0) return sum((x != 0.0).to(x.dtype()), dims, keepdim).detach();
  if (ord == 1) return sum(abs(x), dims, keepdim);
  XG_CHECK(ord > 0, "linalg_vector_norm: ord must be positive, 0 or ±inf, got ", ord);
  Tensor n;
  {
    NoGradGuard ng;
    Tensor a = abs(x);
    n = ord == 2 ? sqrt(sum(a * a, dims, keepdim)) : pow(sum(pow(a, ord), dims, keepdim), 1.0 / ord);
  }
  Shape keep = reduced_shape(x.sizes(), dims, true);
  return record("LinalgVectorNormBackward", {x}, n, {x, n}, [ord, keep](const BackwardCtx& c) -> TensorList {
    const Tensor &in = c.saved[0];
    Tensor nk = reshape(c.saved[1], keep), g = reshape(c.grad, keep);
    Tensor scale = ord == 2 ? in / nk : sign(in) * pow(abs(in), ord - 1.0) / pow(nk, ord - 1.0);
    return {where(nk == 0.0, 0.0, g * scale)};
  });
}

}  // namespace xgrad
