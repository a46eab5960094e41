// Random sampling: normal, bernoulli, multinomial. Each draw holds the global generator for the
// whole tensor (random.hpp), so a seed gives the same tensor whatever other threads do afterwards.
#include <algorithm>
#include <cmath>
#include <mutex>
#include <numeric>
#include <random>

#include "xgrad/ops.hpp"
#include "xgrad/random.hpp"
#include "xgrad/record.hpp"

namespace xgrad {

using autograd::BackwardCtx;
using autograd::record;

Tensor normal(double mean, double std, const Shape& sizes, TensorOptions options) {
  XG_CHECK(std >= 0 && std::isfinite(std), "normal: std must be finite and non-negative, got ", std);
  XG_CHECK(is_floating(options.dtype()), "normal: dtype must be floating, got ", dtype_name(options.dtype()));
  bool rg = options.requires_grad();
  Tensor t = randn(sizes, options.requires_grad(false));
  if (std != 1.0 || mean != 0.0) t = t * std + mean;
  if (rg) t.requires_grad_(true);
  return t;
}

// mean + std·ε, ε ~ N(0, 1) drawn for the broadcast shape: ∂/∂mean = 1, ∂/∂std = ε (PyTorch's rule).
Tensor normal(const Tensor& mean, const Tensor& std) {
  XG_CHECK(mean.defined() && std.defined(), "normal: mean or std is undefined");
  XG_CHECK(mean.is_floating_point() && std.is_floating_point(), "normal: mean and std must be floating, got ",
           dtype_name(mean.dtype()), " and ", dtype_name(std.dtype()));
  {
    Tensor s = std.detach().to(kFloat64);
    const double* p = s.data_ptr<double>();
    for (int64_t i = 0; i < s.numel(); ++i)
      XG_CHECK(p[i] >= 0 && std::isfinite(p[i]), "normal: std must be finite and non-negative, got ", p[i],
               " at flat position ", i, " (shape ", std.sizes(), ")");
  }
  Shape shape = broadcast_shapes(mean.sizes(), std.sizes(), "normal");
  Tensor eps = randn(shape, promote_types(mean.dtype(), std.dtype()));
  return mean + std * eps;  // recorded through add and mul: the rule above, and grad-of-grad, for free
}

Tensor normal(const Tensor& mean, double std) {
  XG_CHECK(mean.defined(), "normal: mean is undefined");
  return normal(mean, scalar_tensor(std, mean.is_floating_point() ? mean.dtype() : kFloat32));
}

Tensor normal(double mean, const Tensor& std) {
  XG_CHECK(std.defined(), "normal: std is undefined");
  return normal(scalar_tensor(mean, std.is_floating_point() ? std.dtype() : kFloat32), std);
}

Tensor bernoulli(const Tensor& p) {
  XG_CHECK(p.defined() && p.is_floating_point(), "bernoulli: p must be a floating tensor of probabilities, got ",
           p.defined() ? dtype_name(p.dtype()) : "undefined");
  Tensor out = empty(p.sizes(), p.dtype());
  std::lock_guard<std::mutex> lock(global_generator_mutex());
  auto& gen = global_generator();
  std::uniform_real_distribution<double> u(0.0, 1.0);
  dispatch_floating(p.dtype(), "bernoulli", [&]<class T>() {
    const T* pp = p.data_ptr<T>();
    T* o = out.data_ptr<T>();
    for (int64_t i = 0; i < p.numel(); ++i) {
      XG_CHECK(pp[i] >= 0 && pp[i] <= 1, "bernoulli: probabilities must be in [0, 1], got ", pp[i],
               " at flat position ", i);
      o[i] = u(gen) < static_cast<double>(pp[i]) ? T(1) : T(0);
    }
  });
  return out;
}

Tensor bernoulli(const Tensor& x, double p) {
  XG_CHECK(x.defined(), "bernoulli: input is undefined");
  XG_CHECK(p >= 0 && p <= 1, "bernoulli: p must be in [0, 1], got ", p);
  ScalarType t = x.is_floating_point() ? x.dtype() : kFloat32;
  Tensor out = bernoulli(full(x.sizes(), p, t));
  return x.dtype() == t ? out : out.to(x.dtype());
}

// With replacement: inverse-CDF draws. Without: sequential draws, each chosen category's weight
// then set to zero (the definition, O(k·n) per row).
Tensor multinomial(const Tensor& probs, int64_t num_samples, bool replacement) {
  XG_CHECK(probs.defined() && probs.is_floating_point() && (probs.dim() == 1 || probs.dim() == 2),
           "multinomial: probs must be a 1-D or 2-D floating tensor, got ",
           probs.defined() ? str(dtype_name(probs.dtype()), " of shape ", probs.sizes()) : "undefined");
  const int64_t rows = probs.dim() == 2 ? probs.sizes()[0] : 1, n = probs.sizes().back();
  XG_CHECK(num_samples > 0, "multinomial: cannot sample ", num_samples, " (<= 0) samples");
  XG_CHECK(n > 0, "multinomial: probs has no categories (shape ", probs.sizes(), ")");
  XG_CHECK(replacement || num_samples <= n, "multinomial: cannot sample ", num_samples,
           " > ", n, " categories without replacement");
  Tensor w = probs.detach().to(kFloat64);
  const double* pw = w.data_ptr<double>();
  Shape shape = probs.dim() == 2 ? Shape{rows, num_samples} : Shape{num_samples};
  Tensor out = empty(shape, kInt64);
  int64_t* o = out.data_ptr<int64_t>();
  for (int64_t r = 0; r < rows; ++r) {
    double total = 0;
    int64_t positive = 0;
    for (int64_t j = 0; j < n; ++j) {
      double v = pw[r * n + j];
      XG_CHECK(std::isfinite(v) && v >= 0, "multinomial: probabilities must be finite and non-negative, got ", v,
               " in row ", r, " column ", j);
      total += v;
      positive += v > 0;
    }
    XG_CHECK(total > 0, "multinomial: the probabilities of row ", r, " sum to 0");
    XG_CHECK(replacement || positive >= num_samples, "multinomial: row ", r, " has ", positive,
             " categories of non-zero probability, fewer than the ", num_samples, " samples asked for without replacement");
  }
  std::lock_guard<std::mutex> lock(global_generator_mutex());
  auto& gen = global_generator();
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> cdf(n), weights(n);
  for (int64_t r = 0; r < rows; ++r) {
    std::copy(pw + r * n, pw + (r + 1) * n, weights.begin());
    for (int64_t s = 0; s < num_samples; ++s) {
      if (s == 0 || !replacement) std::partial_sum(weights.begin(), weights.end(), cdf.begin());
      double x = u(gen) * cdf.back();
      int64_t j = std::upper_bound(cdf.begin(), cdf.end(), x) - cdf.begin();
      j = std::min(j, n - 1);
      while (weights[j] == 0) --j;  // x landed at the top edge: the last category with weight
      o[r * num_samples + s] = j;
      if (!replacement) weights[j] = 0;
    }
  }
  return out;
}

}  // namespace xgrad
