#include "xgrad/nn/norm.hpp"

#include "xgrad/ops.hpp"

namespace xgrad::nn {

LayerNormImpl::LayerNormImpl(const LayerNormOptions& o) : options(o) {
  XG_CHECK(!o.normalized_shape().empty(), "LayerNorm: normalized_shape must not be empty");
  if (o.elementwise_affine()) {
    weight = register_parameter("weight", ones(o.normalized_shape()));
    bias = register_parameter("bias", zeros(o.normalized_shape()));
  }
}

Tensor LayerNormImpl::forward(const Tensor& x) {
  return layer_norm(x, options.normalized_shape(), weight, bias, options.eps());
}

void LayerNormImpl::pretty_print(std::ostream& os) const {
  os << "LayerNorm(" << str(options.normalized_shape()) << ", eps=" << options.eps()
     << ", elementwise_affine=" << (options.elementwise_affine() ? "true" : "false") << ")";
}

}  // namespace xgrad::nn
