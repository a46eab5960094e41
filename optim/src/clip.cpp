#include "xgrad/optim/clip.hpp"

#include <cmath>

#include "xgrad/grad_mode.hpp"
#include "xgrad/ops.hpp"

namespace xgrad::nn::utils {

double clip_grad_norm_(const TensorList& parameters, double max_norm, double norm_type, bool error_if_nonfinite) {
  XG_CHECK(norm_type > 0, "clip_grad_norm_: norm_type must be positive, got ", norm_type);
  XG_CHECK(max_norm >= 0 && !std::isnan(max_norm), "clip_grad_norm_: max_norm must be >= 0, got ", max_norm);
  NoGradGuard ng;
  TensorList grads;
  for (auto& p : parameters)
    if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return 0.0;
  double total = 0;
  for (auto& g : grads) {
    dispatch_floating(g.dtype(), "clip_grad_norm_", [&]<class T>() {
      const T* p = g.data_ptr<T>();
      double acc = 0;
      for (int64_t i = 0; i < g.numel(); ++i) {
        double v = std::fabs(static_cast<double>(p[i]));
        if (std::isinf(norm_type)) acc = std::max(acc, v);
        else acc += norm_type == 2.0 ? v * v : std::pow(v, norm_type);
      }
      if (std::isinf(norm_type)) total = std::max(total, acc);
      else total += acc;
    });
  }
  if (!std::isinf(norm_type)) total = norm_type == 2.0 ? std::sqrt(total) : std::pow(total, 1.0 / norm_type);
  XG_CHECK(!(error_if_nonfinite && !std::isfinite(total)), "clip_grad_norm_: the total norm of order ", norm_type,
           " for gradients from `parameters` is non-finite, so it cannot be clipped. To disable this error and scale "
           "the gradients by the non-finite norm anyway, set error_if_nonfinite=false");
  const double coef = std::min(max_norm / (total + 1e-6), 1.0);  // as torch: always multiplied
  for (auto& g : grads) g.mul_(coef);
  return total;
}

void clip_grad_value_(const TensorList& parameters, double clip_value) {
  XG_CHECK(clip_value >= 0, "clip_grad_value_: clip_value must be >= 0, got ", clip_value);
  NoGradGuard ng;
  for (auto& p : parameters) {
    if (!p.defined() || !p.grad().defined()) continue;
    Tensor g = p.grad();
    g.copy_(clamp(g, -clip_value, clip_value));
  }
}

}  // namespace xgrad::nn::utils
