#pragma once
#include "xgrad/nn/module.hpp"
#include "xgrad/options.hpp"

namespace xgrad::nn {

struct LayerNormOptions {
  LayerNormOptions(Shape normalized_shape) : normalized_shape_(std::move(normalized_shape)) {}  // NOLINT
  XG_ARG(Shape, normalized_shape);
  XG_ARG(double, eps) = 1e-5;
  XG_ARG(bool, elementwise_affine) = true;
};

// Normalises over the trailing normalized_shape; weight ones, bias zeros.
class LayerNormImpl : public Module {
 public:
  explicit LayerNormImpl(const LayerNormOptions& options);
  Tensor forward(const Tensor& x);
  void pretty_print(std::ostream& os) const override;
  LayerNormOptions options;
  Tensor weight, bias;
};
XG_MODULE(LayerNorm);

}  // namespace xgrad::nn
