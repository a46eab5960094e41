// Layer norm over the trailing normalized_shape: checks, the fused kernels (kernels/layer_norm) and
// their record. Under create_graph the backward runs the kernel's formula as tensor ops instead, so
// it stays differentiable; a test compares the two element by element in float64.
#include "dims.hpp"
#include "kernels/layer_norm.hpp"
#include "xgrad/grad_mode.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/record.hpp"

namespace xgrad {

using autograd::BackwardCtx;
using autograd::record;

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
  // One dtype, as PyTorch: a Float32 LayerNorm given Float64 input is an error, not a silent conversion.
  for (const auto& [p, name] : {std::pair{&w0, "weight"}, std::pair{&b0, "bias"}})
    XG_CHECK(!p->defined() || p->dtype() == t, "layer_norm: input is ", dtype_name(t), " but ", name, " is ",
             dtype_name(p->dtype()), "; they must have the same dtype, as in PyTorch: convert one with .to(...)");
  const Tensor &x = x0, &w = w0, &b = b0;
  int64_t D = 1;
  for (int64_t s : normalized_shape) D *= s;
  const int64_t rows = D == 0 ? 0 : x.numel() / D;
  Tensor y = empty_like(x), mu = empty({rows}, t), rstd = empty({rows}, t);
  dispatch_floating(t, "layer_norm", [&]<class T>() {
    kernels::layer_norm_forward<T>(x.data_ptr<T>(), w.defined() ? w.data_ptr<T>() : nullptr,
                                   b.defined() ? b.data_ptr<T>() : nullptr, y.data_ptr<T>(), mu.data_ptr<T>(),
                                   rstd.data_ptr<T>(), rows, D, eps);
  });
  Shape dims;
  for (int64_t i = x.dim() - k; i < x.dim(); ++i) dims.push_back(i);
  return record("LayerNormBackward", {x, w, b}, y, {x, w, mu, rstd},
                [rows, D, dims, eps, ns = normalized_shape](const BackwardCtx& c) -> TensorList {
                  const Tensor &input = c.saved[0], &weight = c.saved[1], &g = c.grad;
                  const Tensor &row_mean = c.saved[2], &row_rstd = c.saved[3];
                  if (GradMode::is_enabled()) {  // create_graph: the kernel's formulas as tensor ops
                    Tensor rs = rsqrt(var(input, dims, 0, true) + eps);
                    Tensor n = (input - mean(input, dims, true)) * rs;
                    Tensor dn = weight.defined() ? g * weight : g;
                    Tensor dx = rs * (dn - mean(dn, dims, true) - n * mean(dn * n, dims, true));
                    return {dx, weight.defined() ? g * n : Tensor(), c.needs_input_grad(2) ? g : Tensor()};
                  }
                  Tensor dx = c.needs_input_grad(0) ? empty_like(input) : Tensor();
                  Tensor dw = c.needs_input_grad(1) ? zeros_like(weight) : Tensor();
                  Tensor db = c.needs_input_grad(2) ? zeros(ns, input.dtype()) : Tensor();
                  dispatch_floating(input.dtype(), "layer_norm_backward", [&]<class T>() {
                    auto ptr = [](const Tensor& t) { return t.defined() ? t.data_ptr<T>() : nullptr; };
                    kernels::layer_norm_backward<T>(g.data_ptr<T>(), input.data_ptr<T>(), ptr(weight),
                                                    row_mean.data_ptr<T>(), row_rstd.data_ptr<T>(), ptr(dx), ptr(dw),
                                                    ptr(db), rows, D);
                  });
                  return {dx, dw, db};
                });
}

}  // namespace xgrad
