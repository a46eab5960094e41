// Adagrad, RMSprop, Adadelta, Adam, AdamW, RAdam and NAdam: one fused loop per parameter, in
// torch.optim 1.13's order of operations.
#include <cmath>

#include "step_util.hpp"
#include "xgrad/optim/adaptive.hpp"

namespace xgrad::optim {

// ---------------------------------------------------------------- steps

void Adagrad::step() {
  detail::for_each_param_with_grad(params_, "Adagrad", [&](size_t g, size_t i, const Tensor& p, const Tensor& grad) {
    const AdagradOptions& o = options_[g];
    auto& st = state(g, i);
    Tensor sum = detail::buffer(st, "sum", p, o.initial_accumulator_value());
    const double step = detail::increment_step(st);
    const double clr = o.lr() / (1 + (step - 1) * o.lr_decay());
    dispatch_floating(p.dtype(), "Adagrad", [&]<class T>() {
      T *w = p.data_ptr<T>(), *s = sum.data_ptr<T>();
      const T* gr = grad.data_ptr<T>();
      const T wd = T(o.weight_decay()), eps = T(o.eps()), lr = T(clr);
#pragma omp simd
      for (int64_t k = 0; k < p.numel(); ++k) {
        T d = wd != T(0) ? gr[k] + wd * w[k] : gr[k];
        s[k] = s[k] + d * d;
        w[k] = w[k] - lr * (d / (std::sqrt(s[k]) + eps));
      }
    });
  });
}

void RMSprop::step() {
  detail::for_each_param_with_grad(params_, "RMSprop", [&](size_t g, size_t i, const Tensor& p, const Tensor& grad) {
    const RMSpropOptions& o = options_[g];
    auto& st = state(g, i);
    detail::increment_step(st);
    Tensor sq = detail::buffer(st, "square_avg", p);
    Tensor mom = o.momentum() > 0 ? detail::buffer(st, "momentum_buffer", p) : Tensor();
    Tensor gavg = o.centered() ? detail::buffer(st, "grad_avg", p) : Tensor();
    dispatch_floating(p.dtype(), "RMSprop", [&]<class T>() {
      T *w = p.data_ptr<T>(), *v = sq.data_ptr<T>(), *b = detail::ptr<T>(mom), *ga = detail::ptr<T>(gavg);
      const T* gr = grad.data_ptr<T>();
      const T lr = T(o.lr()), a = T(o.alpha()), a1 = T(1 - o.alpha()), eps = T(o.eps()), wd = T(o.weight_decay()),
              mu = T(o.momentum());
      for (int64_t k = 0; k < p.numel(); ++k) {
        T d = wd != T(0) ? gr[k] + wd * w[k] : gr[k];
        v[k] = v[k] * a + a1 * d * d;
        T avg;
        if (ga) {
          ga[k] = ga[k] * a + a1 * d;
          avg = std::sqrt(v[k] - ga[k] * ga[k]) + eps;
        } else {
          avg = std::sqrt(v[k]) + eps;
        }
        if (b) {
          b[k] = b[k] * mu + d / avg;
          w[k] = w[k] - lr * b[k];
        } else {
          w[k] = w[k] - lr * (d / avg);
        }
      }
    });
  });
}

void Adadelta::step() {
  detail::for_each_param_with_grad(params_, "Adadelta", [&](size_t g, size_t i, const Tensor& p, const Tensor& grad) {
    const AdadeltaOptions& o = options_[g];
    auto& st = state(g, i);
    detail::increment_step(st);
    Tensor sq = detail::buffer(st, "square_avg", p), acc = detail::buffer(st, "acc_delta", p);
    dispatch_floating(p.dtype(), "Adadelta", [&]<class T>() {
      T *w = p.data_ptr<T>(), *v = sq.data_ptr<T>(), *u = acc.data_ptr<T>();
      const T* gr = grad.data_ptr<T>();
      const T lr = T(o.lr()), rho = T(o.rho()), rho1 = T(1 - o.rho()), eps = T(o.eps()), wd = T(o.weight_decay());
#pragma omp simd
      for (int64_t k = 0; k < p.numel(); ++k) {
        T d = wd != T(0) ? gr[k] + wd * w[k] : gr[k];
        v[k] = v[k] * rho + rho1 * d * d;
        T stdv = std::sqrt(v[k] + eps);
        T delta = std::sqrt(u[k] + eps) / stdv * d;
        u[k] = u[k] * rho + rho1 * delta * delta;
        w[k] = w[k] - lr * delta;
      }
    });
  });
}

namespace {

struct AdamScalars {
  double b1, b2, eps, step_size, bc2_sqrt, wd, decay;
};

// One pass over (p, g, m, v[, vmax]); the flags are template parameters so the loop has no
// branches and vectorises.
template <class T, bool kAmsgrad, bool kMaximize, bool kDecoupled, bool kWeightDecay>
void adam_kernel(T* __restrict w, const T* __restrict gr, T* __restrict pm, T* __restrict pv, T* __restrict pmax,
                 int64_t n, const AdamScalars& s) {
  const T tb1 = T(s.b1), tb1c = T(1 - s.b1), tb2 = T(s.b2), tb2c = T(1 - s.b2), eps = T(s.eps), nss = -T(s.step_size),
          bc2 = T(s.bc2_sqrt), wd = T(s.wd), decay = T(s.decay);
#pragma omp simd
  for (int64_t k = 0; k < n; ++k) {
    T d = kMaximize ? -gr[k] : gr[k];
    T wk = w[k];
    if constexpr (kDecoupled) wk = wk * decay;
    else if constexpr (kWeightDecay) d = d + wd * wk;
    const T m = pm[k] * tb1 + tb1c * d;
    const T v = pv[k] * tb2 + tb2c * d * d;
    pm[k] = m;
    pv[k] = v;
    T second = v;
    if constexpr (kAmsgrad) second = pmax[k] = std::max(pmax[k], v);
    const T denom = std::sqrt(second) / bc2 + eps;
    w[k] = wk + nss * (m / denom);
  }
}

template <class T, bool... Flags>
void adam_dispatch(T* w, const T* g, T* m, T* v, T* vmax, int64_t n, const AdamScalars& s, bool ams, bool maximize,
                   bool decoupled, bool wd) {
  if constexpr (sizeof...(Flags) == 4) {
    adam_kernel<T, Flags...>(w, g, m, v, vmax, n, s);
  } else {
    constexpr size_t i = sizeof...(Flags);
    bool flag = i == 0 ? ams : i == 1 ? maximize : i == 2 ? decoupled : wd;
    if (flag) adam_dispatch<T, Flags..., true>(w, g, m, v, vmax, n, s, ams, maximize, decoupled, wd);
    else adam_dispatch<T, Flags..., false>(w, g, m, v, vmax, n, s, ams, maximize, decoupled, wd);
  }
}

// Adam's update; decoupled = AdamW (decay applied to the weights, not the gradient).
void adam_step(std::vector<TensorList>& params, const std::vector<AdamOptions>& opts,
               const std::function<std::map<std::string, Tensor>&(size_t, size_t)>& state_of, bool decoupled,
               const char* who) {
  detail::for_each_param_with_grad(params, who, [&](size_t g, size_t i, const Tensor& p, const Tensor& grad) {
    const AdamOptions& o = opts[g];
    auto& st = state_of(g, i);
    const double step = detail::increment_step(st);
    Tensor m = detail::buffer(st, "exp_avg", p), v = detail::buffer(st, "exp_avg_sq", p);
    Tensor vmax = o.amsgrad() ? detail::buffer(st, "max_exp_avg_sq", p) : Tensor();
    const double b1 = o.betas().first, b2 = o.betas().second;
    AdamScalars s{b1, b2, o.eps(), o.lr() / (1 - std::pow(b1, step)), std::sqrt(1 - std::pow(b2, step)),
                  o.weight_decay(), 1 - o.lr() * o.weight_decay()};
    dispatch_floating(p.dtype(), who, [&]<class T>() {
      adam_dispatch<T>(p.data_ptr<T>(), grad.data_ptr<T>(), m.data_ptr<T>(), v.data_ptr<T>(), detail::ptr<T>(vmax),
                       p.numel(), s, o.amsgrad(), o.maximize(), decoupled, o.weight_decay() != 0);
    });
  });
}
}  // namespace

void Adam::step() {
  adam_step(params_, options_, [&](size_t g, size_t i) -> auto& { return state(g, i); }, false, "Adam");
}

void AdamW::step() {
  std::vector<AdamOptions> base(options_.begin(), options_.end());
  adam_step(params_, base, [&](size_t g, size_t i) -> auto& { return state(g, i); }, true, "AdamW");
}

void RAdam::step() {
  detail::for_each_param_with_grad(params_, "RAdam", [&](size_t g, size_t i, const Tensor& p, const Tensor& grad) {
    const RAdamOptions& o = options_[g];
    auto& st = state(g, i);
    const double step = detail::increment_step(st);
    Tensor m = detail::buffer(st, "exp_avg", p), v = detail::buffer(st, "exp_avg_sq", p);
    const double b1 = o.betas().first, b2 = o.betas().second;
    const double bc1 = 1 - std::pow(b1, step), bc2 = 1 - std::pow(b2, step);
    const double rho_inf = 2 / (1 - b2) - 1, rho_t = rho_inf - 2 * step * std::pow(b2, step) / bc2;
    // The rectified adaptive step once the variance estimate is defined (ρₜ > 5, as torch).
    const bool rectified = rho_t > 5.0;
    const double rect =
        rectified ? std::sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) : 0.0;
    dispatch_floating(p.dtype(), "RAdam", [&]<class T>() {
      T *w = p.data_ptr<T>(), *pm = m.data_ptr<T>(), *pv = v.data_ptr<T>();
      const T* gr = grad.data_ptr<T>();
      const T tb1 = T(b1), tb1c = T(1 - b1), tb2 = T(b2), tb2c = T(1 - b2), eps = T(o.eps()), wd = T(o.weight_decay()),
              tbc1 = T(bc1), lr = T(o.lr()), sbc2 = T(std::sqrt(bc2)), trect = T(rect);
#pragma omp simd
      for (int64_t k = 0; k < p.numel(); ++k) {
        const T d = wd != T(0) ? gr[k] + wd * w[k] : gr[k];
        pm[k] = pm[k] * tb1 + tb1c * d;
        pv[k] = pv[k] * tb2 + tb2c * d * d;
        const T corrected = pm[k] / tbc1 * lr;
        w[k] = rectified ? w[k] - corrected * (sbc2 / (std::sqrt(pv[k]) + eps)) * trect : w[k] - corrected;
      }
    });
  });
}

void NAdam::step() {
  detail::for_each_param_with_grad(params_, "NAdam", [&](size_t g, size_t i, const Tensor& p, const Tensor& grad) {
    const NAdamOptions& o = options_[g];
    auto& st = state(g, i);
    const double step = detail::increment_step(st);
    Tensor m = detail::buffer(st, "exp_avg", p), v = detail::buffer(st, "exp_avg_sq", p);
    auto it = st.find("mu_product");
    if (it == st.end()) it = st.emplace("mu_product", scalar_tensor(1.0, kFloat64)).first;
    const double b1 = o.betas().first, b2 = o.betas().second, bc2 = 1 - std::pow(b2, step);
    const double mu = b1 * (1 - 0.5 * std::pow(0.96, step * o.momentum_decay()));
    const double mu_next = b1 * (1 - 0.5 * std::pow(0.96, (step + 1) * o.momentum_decay()));
    // torch.optim 1.13 keeps the product of the μ's in a float32 tensor whatever the parameters'
    // dtype, so its rounding is float32's; done the same way here to follow it step for step.
    double& prod = *it->second.data_ptr<double>();
    const float prod32 = static_cast<float>(prod) * static_cast<float>(mu);
    prod = prod32;
    const double prod_next = prod32 * static_cast<float>(mu) * static_cast<float>(mu_next);
    const double c_grad = -o.lr() * (1 - mu) / (1 - prod), c_avg = -o.lr() * mu_next / (1 - prod_next);
    dispatch_floating(p.dtype(), "NAdam", [&]<class T>() {
      T *w = p.data_ptr<T>(), *pm = m.data_ptr<T>(), *pv = v.data_ptr<T>();
      const T* gr = grad.data_ptr<T>();
      const T tb1 = T(b1), tb1c = T(1 - b1), tb2 = T(b2), tb2c = T(1 - b2), eps = T(o.eps()), wd = T(o.weight_decay()),
              tbc2 = T(bc2), cg = T(c_grad), ca = T(c_avg);
#pragma omp simd
      for (int64_t k = 0; k < p.numel(); ++k) {
        const T d = wd != T(0) ? gr[k] + wd * w[k] : gr[k];
        pm[k] = pm[k] * tb1 + tb1c * d;
        pv[k] = pv[k] * tb2 + tb2c * d * d;
        const T denom = std::sqrt(pv[k] / tbc2) + eps;
        const T w1 = w[k] + cg * (d / denom);
        w[k] = w1 + ca * (pm[k] / denom);
      }
    });
  });
}

}  // namespace xgrad::optim
