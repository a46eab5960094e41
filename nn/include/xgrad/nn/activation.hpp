#pragma once
// Dropout and the activation functions as modules.
#include <string>

#include "xgrad/nn/module.hpp"
#include "xgrad/ops.hpp"

namespace xgrad::nn {

// Zeroes elements with probability p (scaling the rest by 1/(1−p)) in training mode only.
class DropoutImpl : public Module {
 public:
  explicit DropoutImpl(double p = 0.5) : p(p) {
    XG_CHECK(p >= 0.0 && p <= 1.0, "Dropout: probability has to be between 0 and 1, but got ", p);
  }
  Tensor forward(const Tensor& x) { return dropout(x, p, is_training()); }
  void pretty_print(std::ostream& os) const override { os << "Dropout(p=" << p << ")"; }
  double p;
};
XG_MODULE(Dropout);

class ReLUImpl : public Module {
 public:
  Tensor forward(const Tensor& x) { return relu(x); }
};
XG_MODULE(ReLU);

class GELUImpl : public Module {
 public:
  explicit GELUImpl(std::string approximate = "none") : approximate(std::move(approximate)) {}
  Tensor forward(const Tensor& x) { return gelu(x, approximate); }
  std::string approximate;
};
XG_MODULE(GELU);

class TanhImpl : public Module {
 public:
  Tensor forward(const Tensor& x) { return tanh(x); }
};
XG_MODULE(Tanh);

class SigmoidImpl : public Module {
 public:
  Tensor forward(const Tensor& x) { return sigmoid(x); }
};
XG_MODULE(Sigmoid);

class SiLUImpl : public Module {
 public:
  Tensor forward(const Tensor& x) { return silu(x); }
};
XG_MODULE(SiLU);

}  // namespace xgrad::nn
