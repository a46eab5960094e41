#pragma once
// Dropout and the activation functions as modules, and the activation choice Transformer layers take.
#include <functional>
#include <string>
#include <variant>

#include "xgrad/nn/module.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/options.hpp"

namespace xgrad {

// A built-in activation, as libtorch's torch::kReLU / torch::kGELU.
enum class Activation { ReLU, GELU };
inline constexpr Activation kReLU = Activation::ReLU;
inline constexpr Activation kGELU = Activation::GELU;

}  // namespace xgrad

namespace xgrad::nn {

// What a Transformer layer's activation may be (libtorch's activation_t): kReLU, kGELU or any
// callable Tensor -> Tensor.
using activation_t = std::variant<Activation, std::function<Tensor(const Tensor&)>>;
Tensor apply_activation(const Tensor& x, const activation_t& activation);

struct DropoutOptions {
  DropoutOptions(double p = 0.5) : p_(p) {}  // NOLINT: implicit, as libtorch's
  XG_ARG(double, p);
};

// Zeroes elements with probability p (scaling the rest by 1/(1−p)) in training mode only.
class DropoutImpl : public Module {
 public:
  explicit DropoutImpl(const DropoutOptions& options = {}) : options(options) {
    XG_CHECK(options.p() >= 0.0 && options.p() <= 1.0, "Dropout: probability has to be between 0 and 1, but got ",
             options.p());
  }
  Tensor forward(const Tensor& x) { return dropout(x, options.p(), is_training()); }
  void pretty_print(std::ostream& os) const override { os << "Dropout(p=" << options.p() << ")"; }
  DropoutOptions options;
};
XG_MODULE(Dropout);

class ReLUImpl : public Module {
 public:
  Tensor forward(const Tensor& x) { return relu(x); }
};
XG_MODULE(ReLU);

// approximate: "none" (the erf form) or "tanh", the string libtorch takes.
struct GELUOptions {
  XG_ARG(std::string, approximate) = "none";
};

class GELUImpl : public Module {
 public:
  explicit GELUImpl(const GELUOptions& options = {}) : options(options) {}
  Tensor forward(const Tensor& x) { return gelu(x, options.approximate()); }
  GELUOptions options;
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

class MishImpl : public Module {
 public:
  Tensor forward(const Tensor& x) { return mish(x); }
};
XG_MODULE(Mish);

struct SoftplusOptions {
  XG_ARG(double, beta) = 1.0;
  XG_ARG(double, threshold) = 20.0;
};
class SoftplusImpl : public Module {
 public:
  explicit SoftplusImpl(SoftplusOptions options = {}) : options(options) {}
  Tensor forward(const Tensor& x) { return softplus(x, options.beta(), options.threshold()); }
  SoftplusOptions options;
};
XG_MODULE(Softplus);

struct HardtanhOptions {
  XG_ARG(double, min_val) = -1.0;
  XG_ARG(double, max_val) = 1.0;
};
class HardtanhImpl : public Module {
 public:
  explicit HardtanhImpl(HardtanhOptions options = {}) : options(options) {}
  Tensor forward(const Tensor& x) { return hardtanh(x, options.min_val(), options.max_val()); }
  HardtanhOptions options;
};
XG_MODULE(Hardtanh);

}  // namespace xgrad::nn
