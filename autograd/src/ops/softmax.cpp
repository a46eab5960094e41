// Softmax and log-softmax: the fused kernels (kernels/softmax) recorded as ops. Their backward is
// an op of its own, _softmax_backward_data / _log_softmax_backward_data (as PyTorch's), whose
// own backward is written in differentiable ops: one backward formula, at every order.
#include "dims.hpp"
#include "kernels/softmax.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/record.hpp"

namespace xgrad {

using autograd::BackwardCtx;
using autograd::record;

namespace {

Tensor softmax_impl(const Tensor& x0, int64_t dim0, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  XG_CHECK(x0.defined(), op, ": input is undefined");
  Tensor x = x0.is_floating_point() ? x0 : x0.to(kFloat32);
  const int64_t dim = detail::wrap_dim(dim0, x.dim(), op);
  const auto s = detail::split_at(x.sizes(), dim);
  Tensor y = empty_like(x);
  dispatch_floating(x.dtype(), op, [&]<class T>() {
    kernels::softmax_forward<T>(x.data_ptr<T>(), y.data_ptr<T>(), s.outer, s.size, s.inner, log);
  });
  return record(log ? "LogSoftmaxBackward" : "SoftmaxBackward", {x}, y, {y}, [dim, log](const BackwardCtx& c) -> TensorList {
    return {log ? _log_softmax_backward_data(c.grad, c.saved[0], dim) : _softmax_backward_data(c.grad, c.saved[0], dim)};
  });
}

// gx from (g, y): the kernel, recorded with the derivatives of gx with respect to g and y.
Tensor backward_data(const Tensor& g, const Tensor& y, int64_t dim0, bool log) {
  const char* op = log ? "_log_softmax_backward_data" : "_softmax_backward_data";
  XG_CHECK(g.defined() && y.defined(), op, ": grad_output or output is undefined");
  XG_CHECK(g.sizes() == y.sizes() && g.dtype() == y.dtype(), op, ": grad_output ", dtype_name(g.dtype()), g.sizes(),
           " and output ", dtype_name(y.dtype()), y.sizes(), " must have the same shape and dtype");
  const int64_t dim = detail::wrap_dim(dim0, y.dim(), op);
  const auto s = detail::split_at(y.sizes(), dim);
  Tensor gx = empty_like(y);
  dispatch_floating(y.dtype(), op, [&]<class T>() {
    kernels::softmax_backward<T>(g.data_ptr<T>(), y.data_ptr<T>(), gx.data_ptr<T>(), s.outer, s.size, s.inner, log);
  });
  // h = dL/dgx.
  // softmax:     gx = y·(g − Σg·y)   ⇒ dL/dg = y·(h − Σh·y),       dL/dy = h·(g − Σg·y) − g·Σh·y
  // log_softmax: gx = g − exp(y)·Σg  ⇒ dL/dg = h − Σh·exp(y),      dL/dy = −h·exp(y)·Σg
  return record(log ? "LogSoftmaxBackwardDataBackward" : "SoftmaxBackwardDataBackward", {g, y}, gx, {g, y},
                [dim, log](const BackwardCtx& c) -> TensorList {
                  const Tensor &g = c.saved[0], &y = c.saved[1], &h = c.grad;
                  const bool want_g = c.needs_input_grad(0), want_y = c.needs_input_grad(1);
                  if (log) {
                    Tensor ey = exp(y);
                    return {want_g ? h - sum(h * ey, {dim}, true) : Tensor(),
                            want_y ? -h * ey * sum(g, {dim}, true) : Tensor()};
                  }
                  return {want_g ? _softmax_backward_data(h, y, dim) : Tensor(),
                          want_y ? h * (g - sum(g * y, {dim}, true)) - g * sum(h * y, {dim}, true) : Tensor()};
                });
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, true); }
Tensor _softmax_backward_data(const Tensor& grad_output, const Tensor& output, int64_t dim) {
  return backward_data(grad_output, output, dim, false);
}
Tensor _log_softmax_backward_data(const Tensor& grad_output, const Tensor& output, int64_t dim) {
  return backward_data(grad_output, output, dim, true);
}

}  // namespace xgrad
