#include "xgrad/optim/sgd.hpp"

#include "step_util.hpp"

namespace xgrad::optim {

void SGDOptions::check() const {
  XG_CHECK(!nesterov() || (momentum() > 0 && dampening() == 0), kName,
           ": Nesterov momentum requires a momentum and zero dampening");
}

void SGD::step() {
  detail::for_each_param_with_grad(params_, "SGD", [&](size_t g, size_t i, const Tensor& p, const Tensor& grad) {
    const SGDOptions& o = options_[g];
    auto& st = state(g, i);
    const bool first = !st.count("momentum_buffer");
    Tensor buf = o.momentum() != 0 ? detail::buffer(st, "momentum_buffer", p) : Tensor();
    dispatch_floating(p.dtype(), "SGD", [&]<class T>() {
      T *w = p.data_ptr<T>(), *b = detail::ptr<T>(buf);
      const T* gr = grad.data_ptr<T>();
      const T lr = T(o.lr()), wd = T(o.weight_decay()), mu = T(o.momentum()), damp = T(1 - o.dampening());
      const bool nesterov = o.nesterov(), maximize = o.maximize();
      for (int64_t k = 0; k < p.numel(); ++k) {
        T d = maximize ? -gr[k] : gr[k];
        if (wd != T(0)) d = d + wd * w[k];
        if (b) {
          b[k] = first ? d : mu * b[k] + damp * d;
          d = nesterov ? d + mu * b[k] : b[k];
        }
        w[k] = w[k] - lr * d;
      }
    });
  });
}

}  // namespace xgrad::optim
