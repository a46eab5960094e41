// Deterministic factories beyond zeros/ones/full/arange: eye and linspace.
#include <cmath>

#include "xgrad/ops.hpp"

namespace xgrad {

Tensor eye(int64_t n, TensorOptions options) { return eye(n, n, options); }

Tensor eye(int64_t n, int64_t m, TensorOptions options) {
  XG_CHECK(n >= 0 && m >= 0, "eye: n and m must be non-negative, got ", n, " and ", m);
  bool rg = options.requires_grad();
  Tensor t = zeros({n, m}, options.requires_grad(false));
  dispatch(t.dtype(), [&]<class T>() {
    T* p = t.data_ptr<T>();
    for (int64_t i = 0; i < std::min(n, m); ++i) p[i * m + i] = static_cast<T>(1);
  });
  if (rg) t.requires_grad_(true);
  return t;
}

// PyTorch's arithmetic: the first half counts up from start, the second half down from end, so both
// ends are exact.
Tensor linspace(double start, double end, int64_t steps, TensorOptions options) {
  XG_CHECK(steps >= 0, "linspace: number of steps must be non-negative, got ", steps);
  XG_CHECK(std::isfinite(start) && std::isfinite(end), "linspace: start and end must be finite, got ", start, " and ", end);
  bool rg = options.requires_grad();
  Tensor t = empty({steps}, options.requires_grad(false));
  const double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  const int64_t half = steps / 2;
  dispatch(t.dtype(), [&]<class T>() {
    T* p = t.data_ptr<T>();
    for (int64_t i = 0; i < steps; ++i) {
      double v = steps == 1 || i < half ? start + step * static_cast<double>(i) : end - step * static_cast<double>(steps - 1 - i);
      if constexpr (std::is_same_v<T, int64_t>) p[i] = static_cast<T>(std::trunc(v));
      else p[i] = static_cast<T>(v);
    }
  });
  if (rg) t.requires_grad_(true);
  return t;
}

}  // namespace xgrad
