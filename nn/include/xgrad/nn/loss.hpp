#pragma once
// Losses as modules, over the functional losses in ops.hpp; each takes libtorch's XLossOptions.
#include "xgrad/nn/module.hpp"
#include "xgrad/ops.hpp"

namespace xgrad::nn {

class CrossEntropyLossImpl : public Module {
 public:
  explicit CrossEntropyLossImpl(CrossEntropyLossOptions options = {}) : options(std::move(options)) {}
  Tensor forward(const Tensor& logits, const Tensor& target) { return cross_entropy(logits, target, options); }
  CrossEntropyLossOptions options;
};
XG_MODULE(CrossEntropyLoss);

class NLLLossImpl : public Module {
 public:
  explicit NLLLossImpl(NLLLossOptions options = {}) : options(std::move(options)) {}
  Tensor forward(const Tensor& log_probs, const Tensor& target) { return nll_loss(log_probs, target, options); }
  NLLLossOptions options;
};
XG_MODULE(NLLLoss);

class MSELossImpl : public Module {
 public:
  explicit MSELossImpl(MSELossOptions options = {}) : options(options) {}
  Tensor forward(const Tensor& input, const Tensor& target) { return mse_loss(input, target, options); }
  MSELossOptions options;
};
XG_MODULE(MSELoss);

}  // namespace xgrad::nn
