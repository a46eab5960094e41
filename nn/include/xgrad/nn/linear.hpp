#pragma once
#include "xgrad/nn/module.hpp"
#include "xgrad/options.hpp"

namespace xgrad::nn {

struct LinearOptions {
  LinearOptions(int64_t in_features, int64_t out_features) : in_features_(in_features), out_features_(out_features) {}
  XG_ARG(int64_t, in_features);
  XG_ARG(int64_t, out_features);
  XG_ARG(bool, bias) = true;
};

// y = x·Wᵀ + b; weight (out, in) and bias initialised U(−1/√in, 1/√in), as PyTorch.
class LinearImpl : public Module {
 public:
  LinearImpl(int64_t in_features, int64_t out_features) : LinearImpl(LinearOptions(in_features, out_features)) {}
  explicit LinearImpl(const LinearOptions& options);
  Tensor forward(const Tensor& x);
  void reset_parameters();
  void pretty_print(std::ostream& os) const override;
  LinearOptions options;
  Tensor weight, bias;
};
XG_MODULE(Linear);

}  // namespace xgrad::nn
