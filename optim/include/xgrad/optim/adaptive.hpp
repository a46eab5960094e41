#pragma once
// The adaptive family of the d2l optimisation chapter: Adagrad, RMSprop, Adadelta, Adam, AdamW,
// and Adam's two refinements RAdam and NAdam, each with torch.optim 1.13's update rule, defaults
// and state names.
#include <utility>

#include "xgrad/optim/optimizer.hpp"
#include "xgrad/options.hpp"

namespace xgrad::optim {

struct AdagradOptions {
  static constexpr const char* kName = "Adagrad";
  AdagradOptions(double lr = 1e-2) : lr_(lr) {}  // NOLINT
  XG_ARG(double, lr);
  XG_ARG(double, lr_decay) = 0.0;
  XG_ARG(double, weight_decay) = 0.0;
  XG_ARG(double, initial_accumulator_value) = 0.0;
  XG_ARG(double, eps) = 1e-10;

 public:
  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("lr", o.lr_, kNonNegative);
    f("lr_decay", o.lr_decay_, kNonNegative);
    f("weight_decay", o.weight_decay_, kNonNegative);
    f("initial_accumulator_value", o.initial_accumulator_value_, kNonNegative);
    f("eps", o.eps_, kNonNegative);
  }
  std::vector<StateBuffer> state_buffers() const { return {{"step", false}, {"sum"}}; }
};

struct RMSpropOptions {
  static constexpr const char* kName = "RMSprop";
  RMSpropOptions(double lr = 1e-2) : lr_(lr) {}  // NOLINT
  XG_ARG(double, lr);
  XG_ARG(double, alpha) = 0.99;
  XG_ARG(double, eps) = 1e-8;
  XG_ARG(double, weight_decay) = 0.0;
  XG_ARG(double, momentum) = 0.0;
  XG_ARG(bool, centered) = false;

 public:
  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("lr", o.lr_, kNonNegative);
    f("alpha", o.alpha_, kNonNegative);
    f("eps", o.eps_, kNonNegative);
    f("weight_decay", o.weight_decay_, kNonNegative);
    f("momentum", o.momentum_, kNonNegative);
    f("centered", o.centered_);
  }
  std::vector<StateBuffer> state_buffers() const {
    std::vector<StateBuffer> b{{"step", false}, {"square_avg"}};
    if (momentum() > 0) b.push_back({"momentum_buffer"});
    if (centered()) b.push_back({"grad_avg"});
    return b;
  }
};

struct AdadeltaOptions {
  static constexpr const char* kName = "Adadelta";
  AdadeltaOptions(double lr = 1.0) : lr_(lr) {}  // NOLINT
  XG_ARG(double, lr);
  XG_ARG(double, rho) = 0.9;
  XG_ARG(double, eps) = 1e-6;
  XG_ARG(double, weight_decay) = 0.0;

 public:
  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("lr", o.lr_, kNonNegative);
    f("rho", o.rho_, kUnitClosed);
    f("eps", o.eps_, kNonNegative);
    f("weight_decay", o.weight_decay_, kNonNegative);
  }
  std::vector<StateBuffer> state_buffers() const { return {{"step", false}, {"square_avg"}, {"acc_delta"}}; }
};

struct AdamOptions {
  static constexpr const char* kName = "Adam";
  AdamOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT
  XG_ARG(double, lr);
  XG_ARG(std::pair<double XG_COMMA double>, betas) = {0.9, 0.999};
  XG_ARG(double, eps) = 1e-8;
  XG_ARG(double, weight_decay) = 0.0;
  XG_ARG(bool, amsgrad) = false;
  XG_ARG(bool, maximize) = false;

 public:
  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("lr", o.lr_, kNonNegative);
    f("beta1", o.betas_.first, kUnitOpen);
    f("beta2", o.betas_.second, kUnitOpen);
    f("eps", o.eps_, kNonNegative);
    f("weight_decay", o.weight_decay_, kNonNegative);
    f("amsgrad", o.amsgrad_);
    f("maximize", o.maximize_);
  }
  std::vector<StateBuffer> state_buffers() const {
    std::vector<StateBuffer> b{{"step", false}, {"exp_avg"}, {"exp_avg_sq"}};
    if (amsgrad()) b.push_back({"max_exp_avg_sq"});
    return b;
  }
};

// AdamW's options are Adam's with decoupled weight decay (default 1e-2).
struct AdamWOptions : AdamOptions {
  static constexpr const char* kName = "AdamW";
  AdamWOptions(double lr = 1e-3) : AdamOptions(lr) { AdamOptions::weight_decay(1e-2); }  // NOLINT
  // Setters returning AdamWOptions& so chains keep the type (same signatures hide Adam's).
  AdamWOptions& betas(const std::pair<double, double>& b) { AdamOptions::betas(b); return *this; }
  AdamWOptions& eps(const double& v) { AdamOptions::eps(v); return *this; }
  AdamWOptions& weight_decay(const double& v) { AdamOptions::weight_decay(v); return *this; }
  AdamWOptions& amsgrad(const bool& v) { AdamOptions::amsgrad(v); return *this; }
  AdamWOptions& maximize(const bool& v) { AdamOptions::maximize(v); return *this; }
  AdamWOptions& lr(const double& v) { AdamOptions::lr(v); return *this; }
  using AdamOptions::amsgrad;
  using AdamOptions::betas;
  using AdamOptions::eps;
  using AdamOptions::lr;
  using AdamOptions::maximize;
  using AdamOptions::weight_decay;
};

// RAdam (Liu et al. 2020): Adam with its adaptive step rectified while the second moment's
// estimate is too young to trust (plain momentum SGD until ρₜ > 5). torch.optim.RAdam 1.13.
struct RAdamOptions {
  static constexpr const char* kName = "RAdam";
  RAdamOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT
  XG_ARG(double, lr);
  XG_ARG(std::pair<double XG_COMMA double>, betas) = {0.9, 0.999};
  XG_ARG(double, eps) = 1e-8;
  XG_ARG(double, weight_decay) = 0.0;

 public:
  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("lr", o.lr_, kNonNegative);
    f("beta1", o.betas_.first, kUnitOpen);
    f("beta2", o.betas_.second, kUnitOpen);
    f("eps", o.eps_, kNonNegative);
    f("weight_decay", o.weight_decay_, kNonNegative);
  }
  std::vector<StateBuffer> state_buffers() const { return {{"step", false}, {"exp_avg"}, {"exp_avg_sq"}}; }
};

// NAdam (Dozat 2016): Adam with Nesterov momentum and a momentum schedule
// μₜ = β₁(1 − ½·0.96^(t·momentum_decay)). torch.optim.NAdam 1.13.
struct NAdamOptions {
  static constexpr const char* kName = "NAdam";
  NAdamOptions(double lr = 2e-3) : lr_(lr) {}  // NOLINT
  XG_ARG(double, lr);
  XG_ARG(std::pair<double XG_COMMA double>, betas) = {0.9, 0.999};
  XG_ARG(double, eps) = 1e-8;
  XG_ARG(double, weight_decay) = 0.0;
  XG_ARG(double, momentum_decay) = 4e-3;

 public:
  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("lr", o.lr_, kNonNegative);
    f("beta1", o.betas_.first, kUnitOpen);
    f("beta2", o.betas_.second, kUnitOpen);
    f("eps", o.eps_, kNonNegative);
    f("weight_decay", o.weight_decay_, kNonNegative);
    f("momentum_decay", o.momentum_decay_, kNonNegative);
  }
  std::vector<StateBuffer> state_buffers() const {
    return {{"step", false}, {"mu_product", false, false, 0.0, 1.0}, {"exp_avg"}, {"exp_avg_sq"}};
  }
};

// Each optimizer: the typed base's constructors (params + options, params alone with the
// defaults, or a list of groups) and its own step.
#define XG_OPTIMIZER(Name)                                \
  class Name : public OptimizerWithOptions<Name##Options> { \
   public:                                                \
    using OptimizerWithOptions::OptimizerWithOptions;     \
    using Optimizer::step;                                \
    void step() override;                                 \
  }

XG_OPTIMIZER(Adagrad);
// v = αv + (1−α)g²; centered: v − ḡ²; p −= lr · g/(√v + eps), through a momentum buffer if μ > 0
XG_OPTIMIZER(RMSprop);
// v = ρv + (1−ρ)g²; Δ = √(u + eps)/√(v + eps) · g; u = ρu + (1−ρ)Δ²; p −= lr·Δ
XG_OPTIMIZER(Adadelta);
// m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²; p −= lr/(1−β₁ᵗ) · m/(√v/√(1−β₂ᵗ) + eps)
XG_OPTIMIZER(Adam);
// p ·= 1 − lr·wd, then Adam without weight decay in the gradient
XG_OPTIMIZER(AdamW);
// Adam's moments; ρ∞ = 2/(1−β₂) − 1, ρₜ = ρ∞ − 2tβ₂ᵗ/(1−β₂ᵗ); if ρₜ > 5:
// p −= lr · m/(1−β₁ᵗ) · r · √(1−β₂ᵗ)/(√v + eps), r = √((ρₜ−4)(ρₜ−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρₜ)); else p −= lr · m/(1−β₁ᵗ)
XG_OPTIMIZER(RAdam);
// Adam's moments; Π = Π·μₜ; d = √(v/(1−β₂ᵗ)) + eps;
// p −= lr(1−μₜ)/(1−Π) · g/d + lr·μₜ₊₁/(1−Π·μₜ₊₁) · m/d
XG_OPTIMIZER(NAdam);
#undef XG_OPTIMIZER

}  // namespace xgrad::optim
