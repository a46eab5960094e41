#include "xgrad/nn/activation.hpp"

namespace xgrad::nn {

Tensor apply_activation(const Tensor& x, const activation_t& activation) {
  if (auto* fn = std::get_if<std::function<Tensor(const Tensor&)>>(&activation)) return (*fn)(x);
  return std::get<Activation>(activation) == kGELU ? gelu(x) : relu(x);
}

}  // namespace xgrad::nn
