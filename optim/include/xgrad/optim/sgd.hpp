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
  void validate() const;
  Hyper to_hyper() const;
  void from_hyper(const Hyper& h);
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
