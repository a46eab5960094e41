#pragma once
// Learning-rate schedules with torch.optim.lr_scheduler 1.13's semantics: constructing one
// performs step 0 (setting each group's lr), step() advances one step, get_last_lr() returns the
// current lrs. Recursive ("chainable") formulas are the same as torch's, so the sequences match.
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "xgrad/optim/optimizer.hpp"

namespace xgrad::optim {

class LRScheduler {
 public:
  explicit LRScheduler(Optimizer& optimizer);
  virtual ~LRScheduler() = default;
  // epoch given: jump there with the closed form where the schedule has one (torch's step(epoch)).
  virtual void step(std::optional<int64_t> epoch = std::nullopt);
  std::vector<double> get_last_lr() const { return last_lr_; }
  int64_t last_epoch() const { return last_epoch_; }
  // For checkpoints: the step count and lrs (restore after the optimizer's own state).
  NamedTensors state_dict() const;
  void load_state_dict(const NamedTensors& dict);

 protected:
  friend class SequentialLR;
  // Must be called at the end of each derived constructor (torch's _initial_step).
  void initial_step();
  virtual std::vector<double> get_lr() = 0;
  virtual std::vector<double> closed_form_lr() { return get_lr(); }
  double group_lr(size_t g) const { return optimizer_.lr(g); }
  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  int64_t last_epoch_ = -1;
  std::vector<double> last_lr_;
};

// lr = base_lr · lambda(epoch)
class LambdaLR : public LRScheduler {
 public:
  LambdaLR(Optimizer& opt, std::function<double(int64_t)> lambda);
 protected:
  std::vector<double> get_lr() override;
  std::function<double(int64_t)> lambda_;
};

// lr ·= gamma every step_size epochs
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& opt, int64_t step_size, double gamma = 0.1);
 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;
  int64_t step_size_;
  double gamma_;
};

// lr ·= gamma at each milestone
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& opt, std::vector<int64_t> milestones, double gamma = 0.1);
 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;
  std::vector<int64_t> milestones_;
  double gamma_;
};

// lr ·= gamma every epoch
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& opt, double gamma);
 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;
  double gamma_;
};

// η = η_min + (η_base − η_min)(1 + cos(π t / T_max))/2, continued periodically past T_max as torch
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& opt, int64_t T_max, double eta_min = 0.0);
 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;
  int64_t T_max_;
  double eta_min_;
};

// Cosine annealing restarted every T_i epochs, T_i growing by T_mult (SGDR).
class CosineAnnealingWarmRestarts : public LRScheduler {
 public:
  CosineAnnealingWarmRestarts(Optimizer& opt, int64_t T_0, int64_t T_mult = 1, double eta_min = 0.0);
  void step(std::optional<int64_t> epoch = std::nullopt) override;
 protected:
  std::vector<double> get_lr() override;
  int64_t T_0_, T_i_, T_mult_, T_cur_;
  double eta_min_;
};

// Linear change of the factor from start_factor to end_factor over total_iters steps.
class LinearLR : public LRScheduler {
 public:
  LinearLR(Optimizer& opt, double start_factor = 1.0 / 3, double end_factor = 1.0, int64_t total_iters = 5);
 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;
  double start_, end_;
  int64_t total_;
};

struct OneCycleOptions {
  double max_lr;
  int64_t total_steps;
  double pct_start = 0.3;
  bool cos_anneal = true;  // false: linear
  bool cycle_momentum = true;
  double base_momentum = 0.85, max_momentum = 0.95;
  double div_factor = 25.0, final_div_factor = 1e4;
  bool three_phase = false;
};

// One cycle (Smith): warm up to max_lr, anneal far below the start; momentum (or Adam's β₁)
// cycles the opposite way when cycle_momentum.
class OneCycleLR : public LRScheduler {
 public:
  OneCycleLR(Optimizer& opt, const OneCycleOptions& options);
 protected:
  std::vector<double> get_lr() override;
  struct Phase {
    double end_step;
    const char *start_lr, *end_lr, *start_mom, *end_mom;
  };
  OneCycleOptions o_;
  std::vector<Phase> phases_;
  std::vector<double> initial_lr_, max_lr_, min_lr_;
  bool uses_beta1_ = false;
};

// Multiplies the lr by factor when a metric stops improving for patience epochs.
class ReduceLROnPlateau {
 public:
  struct Options {
    bool mode_min = true;
    double factor = 0.1;
    int64_t patience = 10;
    double threshold = 1e-4;
    bool threshold_rel = true;
    int64_t cooldown = 0;
    double min_lr = 0.0;
    double eps = 1e-8;
  };
  ReduceLROnPlateau(Optimizer& opt, Options options);
  explicit ReduceLROnPlateau(Optimizer& opt) : ReduceLROnPlateau(opt, Options{}) {}
  void step(double metric);
  std::vector<double> get_last_lr() const;
  NamedTensors state_dict() const;
  void load_state_dict(const NamedTensors& dict);

 private:
  bool better(double a, double best) const;
  Optimizer& optimizer_;
  Options o_;
  double best_;
  int64_t num_bad_epochs_ = 0, cooldown_counter_ = 0, last_epoch_ = 0;
};

// Runs schedulers one after another, switching at the milestones (e.g. LinearLR warmup, then
// CosineAnnealingLR), exactly as torch's SequentialLR (including its restart of each at step 0).
class SequentialLR : public LRScheduler {
 public:
  SequentialLR(Optimizer& opt, std::vector<std::shared_ptr<LRScheduler>> schedulers, std::vector<int64_t> milestones);
  void step(std::optional<int64_t> epoch = std::nullopt) override;
 protected:
  std::vector<double> get_lr() override { return last_lr_; }
  std::vector<std::shared_ptr<LRScheduler>> schedulers_;
  std::vector<int64_t> milestones_;
};

// The Transformer paper's schedule: lr = factor · d_model^−½ · min(s^−½, s · warmup^−³ᐟ²), s = step + 1.
// Sets the lr outright (the optimizer's own lr is ignored).
class NoamLR : public LRScheduler {
 public:
  NoamLR(Optimizer& opt, int64_t d_model, int64_t warmup_steps, double factor = 1.0);
 protected:
  std::vector<double> get_lr() override;
  int64_t d_model_, warmup_;
  double factor_;
};

// Linear warmup from base_lr/warmup to base_lr over warmup_steps, then cosine decay to min_lr at
// total_steps (and min_lr after): at step s < warmup, lr = base·(s+1)/warmup; then
// lr = min_lr + (base − min_lr)(1 + cos(π (s − warmup)/(total − warmup)))/2.
class LinearWarmupCosine : public LRScheduler {
 public:
  LinearWarmupCosine(Optimizer& opt, int64_t warmup_steps, int64_t total_steps, double min_lr = 0.0);
 protected:
  std::vector<double> get_lr() override;
  int64_t warmup_, total_;
  double min_lr_;
};

}  // namespace xgrad::optim
