#include "xgrad/optim/clip.hpp"

#include <algorithm>
#include <cmath>

#include "xgrad/grad_mode.hpp"
#include "xgrad/ops.hpp"

namespace xgrad::nn::utils {

namespace {

// Σ|p|^norm_type in double (max |p| for inf; NaN if any element is NaN). The 2-norm, the usual
// case, runs 8 independent accumulators in a fixed order: vectorised, the same bits every run.
template <class T>
double norm_part(const T* p, int64_t n, double norm_type) {
  if (norm_type == 2.0) {
    constexpr int64_t W = 8;
    double lanes[W] = {};
    int64_t i = 0;
    for (; i + W <= n; i += W)
      for (int64_t j = 0; j < W; ++j) lanes[j] += static_cast<double>(p[i + j]) * static_cast<double>(p[i + j]);
    double acc = 0;
    for (double l : lanes) acc += l;
    for (; i < n; ++i) acc += static_cast<double>(p[i]) * static_cast<double>(p[i]);
    return acc;
  }
  double acc = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double v = std::fabs(static_cast<double>(p[i]));
    if (std::isnan(v)) return v;
    acc = std::isinf(norm_type) ? std::max(acc, v) : acc + std::pow(v, norm_type);
  }
  return acc;
}

}  // namespace

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
      const double part = norm_part(g.data_ptr<T>(), g.numel(), norm_type);
      total = std::isnan(part) || std::isnan(total) ? NAN : std::isinf(norm_type) ? std::max(total, part) : total + part;
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
