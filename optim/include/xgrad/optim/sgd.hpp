#pragma once
#include "xgrad/optim/optimizer.hpp"
#include "xgrad/options.hpp"

namespace xgrad::optim {

struct SGDOptions {
  static constexpr const char* kName = "SGD";
  SGDOptions(double lr) : lr_(lr) {}  // NOLINT
  XG_ARG(double, lr);
  XG_ARG(double, momentum) = 0.0;
  XG_ARG(double, dampening) = 0.0;
  XG_ARG(double, weight_decay) = 0.0;
  XG_ARG(bool, nesterov) = false;
  XG_ARG(bool, maximize) = false;

 public:
  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("lr", o.lr_, kNonNegative);
    f("momentum", o.momentum_, kNonNegative);
    f("dampening", o.dampening_, kFinite);
    f("weight_decay", o.weight_decay_, kNonNegative);
    f("nesterov", o.nesterov_);
    f("maximize", o.maximize_);
  }
  void check() const;  // Nesterov needs momentum and no dampening
  std::vector<StateBuffer> state_buffers() const {
    return momentum() != 0 ? std::vector<StateBuffer>{{"momentum_buffer"}} : std::vector<StateBuffer>{};
  }
};

// torch.optim.SGD (1.13): d = g + wd·p; buf = μ·buf + (1−dampening)·d (buf = d at first);
// d = d + μ·buf (Nesterov) or buf; p −= lr·d.
class SGD : public OptimizerWithOptions<SGDOptions> {
 public:
  using OptimizerWithOptions::OptimizerWithOptions;
  using Optimizer::step;
  void step() override;
};

}  // namespace xgrad::optim
