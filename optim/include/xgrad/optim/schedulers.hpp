#pragma once
// Learning-rate schedules with torch.optim.lr_scheduler 1.13's semantics: constructing one
// performs step 0 (setting each group's lr), step() advances one step, get_last_lr() returns the
// current lrs. Recursive ("chainable") formulas are the same as torch's, so the sequences match.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "xgrad/optim/optimizer.hpp"
#include "xgrad/options.hpp"

namespace xgrad::optim {

class LRScheduler {
 public:
  explicit LRScheduler(Optimizer& optimizer);
  virtual ~LRScheduler() = default;
  // epoch given: jump there with the closed form where the schedule has one (torch's step(epoch)).
  virtual void step(std::optional<int64_t> epoch = std::nullopt);
  std::vector<double> get_last_lr() const { return last_lr_; }
  int64_t last_epoch() const { return last_epoch_; }
  // For checkpoints: the step count and lrs, and a schedule's own counters (restore after the
  // optimizer's own state). Loading checks every entry (present, finite, whole where a count)
  // before changing anything.
  NamedTensors state_dict() const;
  void load_state_dict(const NamedTensors& dict);

 protected:
  friend class SequentialLR;
  // Must be called at the end of each derived constructor (torch's _initial_step).
  void initial_step();
  virtual std::vector<double> get_lr() = 0;
  virtual std::vector<double> closed_form_lr() { return get_lr(); }
  // A schedule's own state beyond last_epoch and the lrs (names without a prefix); load_extra_state
  // gets exactly the entries extra_state wrote, checked as scalars, and must check their ranges.
  virtual NamedTensors extra_state() const { return {}; }
  virtual void load_extra_state(const std::map<std::string, double>&) {}
  double group_lr(size_t g) const { return optimizer_.lr(g); }
  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  int64_t last_epoch_ = -1;
  std::vector<double> last_lr_;
};

// Every scheduler takes an options struct (libtorch style: required arguments in its constructor,
// the rest fluent) and keeps the positional constructor torch users know:
//   StepLR(opt, StepLROptions(30).gamma(0.5))  ==  StepLR(opt, 30, 0.5)

struct LambdaLROptions {
  LambdaLROptions(std::function<double(int64_t)> lr_lambda) : lr_lambda_(std::move(lr_lambda)) {}  // NOLINT
  XG_ARG(std::function<double(int64_t)>, lr_lambda);
};
// lr = base_lr · lambda(epoch)
class LambdaLR : public LRScheduler {
 public:
  LambdaLR(Optimizer& opt, std::function<double(int64_t)> lr_lambda)
      : LambdaLR(opt, LambdaLROptions(std::move(lr_lambda))) {}
  LambdaLR(Optimizer& opt, const LambdaLROptions& options);
  const LambdaLROptions& options() const { return options_; }
 protected:
  std::vector<double> get_lr() override;
  LambdaLROptions options_;
};

struct StepLROptions {
  StepLROptions(int64_t step_size) : step_size_(step_size) {}  // NOLINT
  XG_ARG(int64_t, step_size);
  XG_ARG(double, gamma) = 0.1;
};
// lr ·= gamma every step_size epochs
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& opt, int64_t step_size, double gamma = 0.1) : StepLR(opt, StepLROptions(step_size).gamma(gamma)) {}
  StepLR(Optimizer& opt, const StepLROptions& options);
  const StepLROptions& options() const { return options_; }
 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;
  StepLROptions options_;
};

struct MultiStepLROptions {
  MultiStepLROptions(std::vector<int64_t> milestones) : milestones_(std::move(milestones)) {}  // NOLINT
  XG_ARG(std::vector<int64_t>, milestones);
  XG_ARG(double, gamma) = 0.1;
};
// lr ·= gamma at each milestone
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& opt, std::vector<int64_t> milestones, double gamma = 0.1)
      : MultiStepLR(opt, MultiStepLROptions(std::move(milestones)).gamma(gamma)) {}
  MultiStepLR(Optimizer& opt, const MultiStepLROptions& options);
  const MultiStepLROptions& options() const { return options_; }
 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;
  MultiStepLROptions options_;  // milestones sorted
};

struct ExponentialLROptions {
  ExponentialLROptions(double gamma) : gamma_(gamma) {}  // NOLINT
  XG_ARG(double, gamma);
};
// lr ·= gamma every epoch
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& opt, double gamma) : ExponentialLR(opt, ExponentialLROptions(gamma)) {}
  ExponentialLR(Optimizer& opt, const ExponentialLROptions& options);
  const ExponentialLROptions& options() const { return options_; }
 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;
  ExponentialLROptions options_;
};

struct CosineAnnealingLROptions {
  CosineAnnealingLROptions(int64_t T_max) : T_max_(T_max) {}  // NOLINT
  XG_ARG(int64_t, T_max);
  XG_ARG(double, eta_min) = 0.0;
};
// η = η_min + (η_base − η_min)(1 + cos(π t / T_max))/2, continued periodically past T_max as torch
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& opt, int64_t T_max, double eta_min = 0.0)
      : CosineAnnealingLR(opt, CosineAnnealingLROptions(T_max).eta_min(eta_min)) {}
  CosineAnnealingLR(Optimizer& opt, const CosineAnnealingLROptions& options);
  const CosineAnnealingLROptions& options() const { return options_; }
 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;
  CosineAnnealingLROptions options_;
};

struct CosineAnnealingWarmRestartsOptions {
  CosineAnnealingWarmRestartsOptions(int64_t T_0) : T_0_(T_0) {}  // NOLINT
  XG_ARG(int64_t, T_0);
  XG_ARG(int64_t, T_mult) = 1;
  XG_ARG(double, eta_min) = 0.0;
};
// Cosine annealing restarted every T_i epochs, T_i growing by T_mult (SGDR).
class CosineAnnealingWarmRestarts : public LRScheduler {
 public:
  CosineAnnealingWarmRestarts(Optimizer& opt, int64_t T_0, int64_t T_mult = 1, double eta_min = 0.0)
      : CosineAnnealingWarmRestarts(opt, CosineAnnealingWarmRestartsOptions(T_0).T_mult(T_mult).eta_min(eta_min)) {}
  CosineAnnealingWarmRestarts(Optimizer& opt, const CosineAnnealingWarmRestartsOptions& options);
  void step(std::optional<int64_t> epoch = std::nullopt) override;
  const CosineAnnealingWarmRestartsOptions& options() const { return options_; }
 protected:
  std::vector<double> get_lr() override;
  NamedTensors extra_state() const override;
  void load_extra_state(const std::map<std::string, double>& s) override;
  CosineAnnealingWarmRestartsOptions options_;
  int64_t T_i_, T_cur_ = -1;  // the current period and the position in it
};

struct LinearLROptions {
  XG_ARG(double, start_factor) = 1.0 / 3;
  XG_ARG(double, end_factor) = 1.0;
  XG_ARG(int64_t, total_iters) = 5;
};
// Linear change of the factor from start_factor to end_factor over total_iters steps.
class LinearLR : public LRScheduler {
 public:
  LinearLR(Optimizer& opt, double start_factor, double end_factor = 1.0, int64_t total_iters = 5)
      : LinearLR(opt, LinearLROptions().start_factor(start_factor).end_factor(end_factor).total_iters(total_iters)) {}
  explicit LinearLR(Optimizer& opt, const LinearLROptions& options = {});
  const LinearLROptions& options() const { return options_; }
 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;
  LinearLROptions options_;
};

// OneCycleLR's anneal_strategy: torch's 'cos' and 'linear'.
enum class AnnealStrategy { Cos, Linear };
inline constexpr AnnealStrategy kCos = AnnealStrategy::Cos;
inline constexpr AnnealStrategy kLinear = AnnealStrategy::Linear;

struct OneCycleLROptions {
  OneCycleLROptions(double max_lr, int64_t total_steps) : max_lr_(max_lr), total_steps_(total_steps) {}
  XG_ARG(double, max_lr);
  XG_ARG(int64_t, total_steps);
  XG_ARG(double, pct_start) = 0.3;
  XG_ARG(AnnealStrategy, anneal_strategy) = kCos;
  XG_ARG(bool, cycle_momentum) = true;
  XG_ARG(double, base_momentum) = 0.85;
  XG_ARG(double, max_momentum) = 0.95;
  XG_ARG(double, div_factor) = 25.0;
  XG_ARG(double, final_div_factor) = 1e4;
  XG_ARG(bool, three_phase) = false;
};

// One cycle (Smith): warm up to max_lr, anneal far below the start; momentum (or Adam's β₁)
// cycles the opposite way when cycle_momentum.
class OneCycleLR : public LRScheduler {
 public:
  OneCycleLR(Optimizer& opt, double max_lr, int64_t total_steps)
      : OneCycleLR(opt, OneCycleLROptions(max_lr, total_steps)) {}
  OneCycleLR(Optimizer& opt, const OneCycleLROptions& options);
  const OneCycleLROptions& options() const { return options_; }
 protected:
  std::vector<double> get_lr() override;
  // Where a phase starts or ends: a learning rate of the group, or a momentum.
  enum class LrAt { Initial, Max, Min };
  enum class MomentumAt { Base, Max };
  struct Phase {
    double end_step;
    LrAt start_lr, end_lr;
    MomentumAt start_momentum, end_momentum;
  };
  double lr_at(LrAt where, size_t group) const;
  double momentum_at(MomentumAt where) const;
  OneCycleLROptions options_;
  std::vector<Phase> phases_;
  std::vector<double> initial_lr_, max_lr_, min_lr_;
  const char* momentum_name_ = "momentum";  // or "beta1" for the Adam family
};

// ReduceLROnPlateau's mode and threshold_mode, as libtorch's ReduceLROnPlateauScheduler spells them.
enum class SchedulerMode { Min, Max };
inline constexpr SchedulerMode kMin = SchedulerMode::Min;
inline constexpr SchedulerMode kMax = SchedulerMode::Max;
enum class ThresholdMode { Rel, Abs };
inline constexpr ThresholdMode kRel = ThresholdMode::Rel;
inline constexpr ThresholdMode kAbs = ThresholdMode::Abs;

struct ReduceLROnPlateauOptions {
  XG_ARG(SchedulerMode, mode) = kMin;
  XG_ARG(double, factor) = 0.1;
  XG_ARG(int64_t, patience) = 10;
  XG_ARG(double, threshold) = 1e-4;
  XG_ARG(ThresholdMode, threshold_mode) = kRel;
  XG_ARG(int64_t, cooldown) = 0;
  XG_ARG(double, min_lr) = 0.0;
  XG_ARG(double, eps) = 1e-8;
};

// Multiplies the lr by factor when a metric stops improving for patience epochs.
class ReduceLROnPlateau {
 public:
  using Options = ReduceLROnPlateauOptions;
  explicit ReduceLROnPlateau(Optimizer& opt, const ReduceLROnPlateauOptions& options = {});
  void step(double metric);
  std::vector<double> get_last_lr() const;
  const ReduceLROnPlateauOptions& options() const { return options_; }
  NamedTensors state_dict() const;
  void load_state_dict(const NamedTensors& dict);

 private:
  bool better(double a, double best) const;
  Optimizer& optimizer_;
  ReduceLROnPlateauOptions options_;
  double best_;
  int64_t num_bad_epochs_ = 0, cooldown_counter_ = 0, last_epoch_ = 0;
};

struct SequentialLROptions {
  SequentialLROptions(std::vector<std::shared_ptr<LRScheduler>> schedulers, std::vector<int64_t> milestones)
      : schedulers_(std::move(schedulers)), milestones_(std::move(milestones)) {}
  XG_ARG(std::vector<std::shared_ptr<LRScheduler>>, schedulers);
  XG_ARG(std::vector<int64_t>, milestones);
};

// Runs schedulers one after another, switching at the milestones (e.g. LinearLR warmup, then
// CosineAnnealingLR), exactly as torch's SequentialLR (including its restart of each at step 0).
class SequentialLR : public LRScheduler {
 public:
  SequentialLR(Optimizer& opt, std::vector<std::shared_ptr<LRScheduler>> schedulers, std::vector<int64_t> milestones)
      : SequentialLR(opt, SequentialLROptions(std::move(schedulers), std::move(milestones))) {}
  SequentialLR(Optimizer& opt, const SequentialLROptions& options);
  void step(std::optional<int64_t> epoch = std::nullopt) override;
  const SequentialLROptions& options() const { return options_; }
 protected:
  std::vector<double> get_lr() override { return last_lr_; }
  NamedTensors extra_state() const override;  // every scheduler's own state, as "K.<entry>"
  void load_extra_state(const std::map<std::string, double>& s) override;
  SequentialLROptions options_;
};

struct NoamLROptions {
  NoamLROptions(int64_t d_model, int64_t warmup_steps) : d_model_(d_model), warmup_steps_(warmup_steps) {}
  XG_ARG(int64_t, d_model);
  XG_ARG(int64_t, warmup_steps);
  XG_ARG(double, factor) = 1.0;
};

// The Transformer paper's schedule: lr = factor · d_model^−½ · min(s^−½, s · warmup^−³ᐟ²), s = step + 1.
// Sets the lr outright (the optimizer's own lr is ignored).
class NoamLR : public LRScheduler {
 public:
  NoamLR(Optimizer& opt, int64_t d_model, int64_t warmup_steps, double factor = 1.0)
      : NoamLR(opt, NoamLROptions(d_model, warmup_steps).factor(factor)) {}
  NoamLR(Optimizer& opt, const NoamLROptions& options);
  const NoamLROptions& options() const { return options_; }
 protected:
  std::vector<double> get_lr() override;
  NoamLROptions options_;
};

struct LinearWarmupCosineOptions {
  LinearWarmupCosineOptions(int64_t warmup_steps, int64_t total_steps)
      : warmup_steps_(warmup_steps), total_steps_(total_steps) {}
  XG_ARG(int64_t, warmup_steps);
  XG_ARG(int64_t, total_steps);
  XG_ARG(double, min_lr) = 0.0;
};

// Linear warmup from base_lr/warmup to base_lr over warmup_steps, then cosine decay to min_lr at
// total_steps (and min_lr after): at step s < warmup, lr = base·(s+1)/warmup; then
// lr = min_lr + (base − min_lr)(1 + cos(π (s − warmup)/(total − warmup)))/2.
class LinearWarmupCosine : public LRScheduler {
 public:
  LinearWarmupCosine(Optimizer& opt, int64_t warmup_steps, int64_t total_steps, double min_lr = 0.0)
      : LinearWarmupCosine(opt, LinearWarmupCosineOptions(warmup_steps, total_steps).min_lr(min_lr)) {}
  LinearWarmupCosine(Optimizer& opt, const LinearWarmupCosineOptions& options);
  const LinearWarmupCosineOptions& options() const { return options_; }
 protected:
  std::vector<double> get_lr() override;
  LinearWarmupCosineOptions options_;
};

}  // namespace xgrad::optim
