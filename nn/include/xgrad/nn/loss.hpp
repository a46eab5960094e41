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

// A module over a pointwise loss: forward(input, target) with the options it was built with.
#define XG_POINTWISE_LOSS(NAME, OPTIONS, FN)                                                           \
  class NAME##Impl : public Module {                                                                   \
   public:                                                                                             \
    explicit NAME##Impl(OPTIONS options = {}) : options(std::move(options)) {}                        \
    Tensor forward(const Tensor& input, const Tensor& target) { return FN(input, target, options); }   \
    OPTIONS options;                                                                                   \
  };                                                                                                   \
  XG_MODULE(NAME)

XG_POINTWISE_LOSS(L1Loss, L1LossOptions, l1_loss);
XG_POINTWISE_LOSS(SmoothL1Loss, SmoothL1LossOptions, smooth_l1_loss);
XG_POINTWISE_LOSS(HuberLoss, HuberLossOptions, huber_loss);
XG_POINTWISE_LOSS(BCELoss, BCELossOptions, binary_cross_entropy);
XG_POINTWISE_LOSS(BCEWithLogitsLoss, BCEWithLogitsLossOptions, binary_cross_entropy_with_logits);
XG_POINTWISE_LOSS(KLDivLoss, KLDivLossOptions, kl_div);
#undef XG_POINTWISE_LOSS

}  // namespace xgrad::nn
