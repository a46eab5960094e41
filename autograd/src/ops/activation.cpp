// Activations beyond the elementwise basics: softplus, mish, hardtanh.
#include <cmath>

#include "xgrad/ops.hpp"
#include "xgrad/record.hpp"

namespace xgrad {

using autograd::BackwardCtx;
using autograd::record;

Tensor softplus(const Tensor& x, double beta, double threshold) {
  XG_CHECK(x.defined() && x.is_floating_point(), "softplus: input must be floating, got ",
           x.defined() ? dtype_name(x.dtype()) : "undefined");
  XG_CHECK(beta != 0 && std::isfinite(beta), "softplus: beta must be finite and non-zero, got ", beta);
  Tensor out = empty_like(x);
  dispatch_floating(x.dtype(), "softplus", [&]<class T>() {
    const T* p = x.data_ptr<T>();
    T* o = out.data_ptr<T>();
    const T b = static_cast<T>(beta), th = static_cast<T>(threshold);
    for (int64_t i = 0; i < x.numel(); ++i) o[i] = p[i] * b > th ? p[i] : std::log1p(std::exp(p[i] * b)) / b;
  });
  // d/dx = sigmoid(beta·x) below the threshold, 1 above it (the linear branch).
  return record("SoftplusBackward", {x}, out, {x}, [beta, threshold](const BackwardCtx& c) -> TensorList {
    const Tensor& in = c.saved[0];
    return {where(in * beta > threshold, c.grad, c.grad * sigmoid(in * beta))};
  });
}

Tensor mish(const Tensor& x) { return x * tanh(softplus(x)); }

Tensor hardtanh(const Tensor& x, double min_val, double max_val) {
  XG_CHECK(x.defined() && x.is_floating_point(), "hardtanh: input must be floating");
  XG_CHECK(min_val <= max_val, "hardtanh: min_val (", min_val, ") must not exceed max_val (", max_val, ")");
  Tensor out = clamp(x.detach(), min_val, max_val);
  return record("HardtanhBackward", {x}, out, {x}, [min_val, max_val](const BackwardCtx& c) -> TensorList {
    const Tensor& in = c.saved[0];
    return {where((in > min_val) & (in < max_val), c.grad, 0.0)};
  });
}

}  // namespace xgrad
