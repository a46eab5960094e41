// The schedules, transcribed from torch.optim.lr_scheduler (1.13) so that sequences match,
// including the recursive forms and their quirks.
#include "xgrad/optim/schedulers.hpp"

#include <algorithm>
#include <cmath>

#include "xgrad/ops.hpp"

namespace xgrad::optim {

namespace {
int64_t py_mod(int64_t a, int64_t b) { return ((a % b) + b) % b; }  // Python's %, never negative

// Cosine from `hi` at t = 0 down to `lo` at t = T, in torch's order of operations.
double cosine(double lo, double hi, double t, double T) { return lo + (hi - lo) * (1 + std::cos(M_PI * t / T)) / 2; }
}  // namespace

LRScheduler::LRScheduler(Optimizer& opt) : optimizer_(opt), base_lrs_(opt.initial_lrs()) {}

void LRScheduler::initial_step() { step(); }

void LRScheduler::step(std::optional<int64_t> epoch) {
  std::vector<double> values;
  if (!epoch) {
    last_epoch_++;
    values = get_lr();
  } else {
    last_epoch_ = *epoch;
    values = closed_form_lr();
  }
  for (size_t g = 0; g < values.size(); ++g) optimizer_.set_lr(g, values[g]);
  last_lr_.clear();
  for (size_t g = 0; g < optimizer_.num_param_groups(); ++g) last_lr_.push_back(optimizer_.lr(g));
}

NamedTensors LRScheduler::state_dict() const {
  NamedTensors out{{"last_epoch", scalar_tensor(static_cast<double>(last_epoch_), kFloat64)}};
  for (size_t g = 0; g < base_lrs_.size(); ++g) out.emplace_back(str("base_lr.", g), scalar_tensor(base_lrs_[g], kFloat64));
  for (size_t g = 0; g < last_lr_.size(); ++g) out.emplace_back(str("last_lr.", g), scalar_tensor(last_lr_[g], kFloat64));
  return out;
}

void LRScheduler::load_state_dict(const NamedTensors& dict) {
  std::map<std::string, Tensor> d(dict.begin(), dict.end());
  XG_CHECK(d.count("last_epoch"), "LRScheduler: state has no last_epoch");
  for (size_t g = 0; g < base_lrs_.size(); ++g)
    XG_CHECK(d.count(str("base_lr.", g)) && d.count(str("last_lr.", g)), "LRScheduler: state is for ",
             "a different number of parameter groups");
  last_epoch_ = static_cast<int64_t>(d["last_epoch"].item<double>());
  for (size_t g = 0; g < base_lrs_.size(); ++g) {
    base_lrs_[g] = d[str("base_lr.", g)].item<double>();
    last_lr_.resize(base_lrs_.size());
    last_lr_[g] = d[str("last_lr.", g)].item<double>();
  }
}

// ---------------------------------------------------------------- simple schedules

LambdaLR::LambdaLR(Optimizer& opt, std::function<double(int64_t)> lambda) : LRScheduler(opt), lambda_(std::move(lambda)) {
  initial_step();
}
std::vector<double> LambdaLR::get_lr() {
  std::vector<double> out;
  for (double b : base_lrs_) out.push_back(b * lambda_(last_epoch_));
  return out;
}

StepLR::StepLR(Optimizer& opt, int64_t step_size, double gamma) : LRScheduler(opt), step_size_(step_size), gamma_(gamma) {
  XG_CHECK(step_size > 0, "StepLR: step_size must be positive, got ", step_size);
  initial_step();
}
std::vector<double> StepLR::get_lr() {
  std::vector<double> out;
  for (size_t g = 0; g < base_lrs_.size(); ++g)
    out.push_back(last_epoch_ == 0 || last_epoch_ % step_size_ != 0 ? group_lr(g) : group_lr(g) * gamma_);
  return out;
}
std::vector<double> StepLR::closed_form_lr() {
  std::vector<double> out;
  for (double b : base_lrs_) out.push_back(b * std::pow(gamma_, static_cast<double>(last_epoch_ / step_size_)));
  return out;
}

MultiStepLR::MultiStepLR(Optimizer& opt, std::vector<int64_t> milestones, double gamma)
    : LRScheduler(opt), milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());
  initial_step();
}
std::vector<double> MultiStepLR::get_lr() {
  auto hits = std::count(milestones_.begin(), milestones_.end(), last_epoch_);
  std::vector<double> out;
  for (size_t g = 0; g < base_lrs_.size(); ++g)
    out.push_back(hits == 0 ? group_lr(g) : group_lr(g) * std::pow(gamma_, static_cast<double>(hits)));
  return out;
}
std::vector<double> MultiStepLR::closed_form_lr() {
  auto n = std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin();
  std::vector<double> out;
  for (double b : base_lrs_) out.push_back(b * std::pow(gamma_, static_cast<double>(n)));
  return out;
}

ExponentialLR::ExponentialLR(Optimizer& opt, double gamma) : LRScheduler(opt), gamma_(gamma) { initial_step(); }
std::vector<double> ExponentialLR::get_lr() {
  std::vector<double> out;
  for (size_t g = 0; g < base_lrs_.size(); ++g) out.push_back(last_epoch_ == 0 ? group_lr(g) : group_lr(g) * gamma_);
  return out;
}
std::vector<double> ExponentialLR::closed_form_lr() {
  std::vector<double> out;
  for (double b : base_lrs_) out.push_back(b * std::pow(gamma_, static_cast<double>(last_epoch_)));
  return out;
}

// ---------------------------------------------------------------- cosine

CosineAnnealingLR::CosineAnnealingLR(Optimizer& opt, int64_t T_max, double eta_min)
    : LRScheduler(opt), T_max_(T_max), eta_min_(eta_min) {
  XG_CHECK(T_max > 0, "CosineAnnealingLR: T_max must be positive, got ", T_max);
  initial_step();
}
std::vector<double> CosineAnnealingLR::get_lr() {
  std::vector<double> out;
  const double T = static_cast<double>(T_max_), e = static_cast<double>(last_epoch_);
  for (size_t g = 0; g < base_lrs_.size(); ++g) {
    double lr = group_lr(g), b = base_lrs_[g];
    if (last_epoch_ == 0) out.push_back(lr);
    else if (py_mod(last_epoch_ - 1 - T_max_, 2 * T_max_) == 0)
      out.push_back(lr + (b - eta_min_) * (1 - std::cos(M_PI / T)) / 2);
    else
      out.push_back((1 + std::cos(M_PI * e / T)) / (1 + std::cos(M_PI * (e - 1) / T)) * (lr - eta_min_) + eta_min_);
  }
  return out;
}
std::vector<double> CosineAnnealingLR::closed_form_lr() {
  std::vector<double> out;
  for (double b : base_lrs_) out.push_back(cosine(eta_min_, b, static_cast<double>(last_epoch_), static_cast<double>(T_max_)));
  return out;
}

CosineAnnealingWarmRestarts::CosineAnnealingWarmRestarts(Optimizer& opt, int64_t T_0, int64_t T_mult, double eta_min)
    : LRScheduler(opt), T_0_(T_0), T_i_(T_0), T_mult_(T_mult), T_cur_(-1), eta_min_(eta_min) {
  XG_CHECK(T_0 > 0, "CosineAnnealingWarmRestarts: T_0 must be positive, got ", T_0);
  XG_CHECK(T_mult >= 1, "CosineAnnealingWarmRestarts: T_mult must be >= 1, got ", T_mult);
  initial_step();
}
void CosineAnnealingWarmRestarts::step(std::optional<int64_t> epoch) {
  if (!epoch && last_epoch_ < 0) epoch = 0;
  int64_t e;
  if (!epoch) {
    e = last_epoch_ + 1;
    if (++T_cur_ >= T_i_) {
      T_cur_ -= T_i_;
      T_i_ *= T_mult_;
    }
  } else {
    e = *epoch;
    if (e >= T_0_) {
      if (T_mult_ == 1) {
        T_cur_ = e % T_0_;
      } else {
        auto n = static_cast<int64_t>(std::log(static_cast<double>(e) / T_0_ * (T_mult_ - 1) + 1) / std::log(T_mult_));
        int64_t p = 1;
        for (int64_t k = 0; k < n; ++k) p *= T_mult_;
        T_cur_ = e - T_0_ * (p - 1) / (T_mult_ - 1);
        T_i_ = T_0_ * p;
      }
    } else {
      T_i_ = T_0_;
      T_cur_ = e;
    }
  }
  last_epoch_ = e;
  auto values = get_lr();
  for (size_t g = 0; g < values.size(); ++g) optimizer_.set_lr(g, values[g]);
  last_lr_ = values;
}
std::vector<double> CosineAnnealingWarmRestarts::get_lr() {
  std::vector<double> out;
  for (double b : base_lrs_) out.push_back(cosine(eta_min_, b, static_cast<double>(T_cur_), static_cast<double>(T_i_)));
  return out;
}

LinearLR::LinearLR(Optimizer& opt, double start, double end, int64_t total)
    : LRScheduler(opt), start_(start), end_(end), total_(total) {
  XG_CHECK(start > 0 && start <= 1 && end >= 0 && end <= 1, "LinearLR: start_factor must be in (0, 1] and ",
           "end_factor in [0, 1], got ", start, " and ", end);
  XG_CHECK(total > 0, "LinearLR: total_iters must be positive, got ", total);
  initial_step();
}
std::vector<double> LinearLR::get_lr() {
  std::vector<double> out;
  for (size_t g = 0; g < base_lrs_.size(); ++g) {
    double lr = group_lr(g);
    if (last_epoch_ == 0) out.push_back(lr * start_);
    else if (last_epoch_ > total_) out.push_back(lr);
    else
      out.push_back(lr * (1.0 + (end_ - start_) / (total_ * start_ + (last_epoch_ - 1) * (end_ - start_))));
  }
  return out;
}
std::vector<double> LinearLR::closed_form_lr() {
  std::vector<double> out;
  for (double b : base_lrs_)
    out.push_back(b * (start_ + (end_ - start_) * std::min(total_, last_epoch_) / static_cast<double>(total_)));
  return out;
}

// ---------------------------------------------------------------- one cycle

OneCycleLR::OneCycleLR(Optimizer& opt, const OneCycleOptions& o) : LRScheduler(opt), o_(o) {
  XG_CHECK(o.total_steps > 0, "OneCycleLR: total_steps must be positive, got ", o.total_steps);
  XG_CHECK(o.pct_start >= 0 && o.pct_start <= 1, "OneCycleLR: pct_start must be in [0, 1], got ", o.pct_start);
  const double T = static_cast<double>(o.total_steps);
  if (o.three_phase)
    phases_ = {{o.pct_start * T - 1, "initial", "max", "max_m", "base_m"},
               {2 * o.pct_start * T - 2, "max", "initial", "base_m", "max_m"},
               {T - 1, "initial", "min", "max_m", "max_m"}};
  else
    phases_ = {{o.pct_start * T - 1, "initial", "max", "max_m", "base_m"}, {T - 1, "max", "min", "base_m", "max_m"}};
  for (size_t g = 0; g < opt.num_param_groups(); ++g) {
    initial_lr_.push_back(o.max_lr / o.div_factor);
    max_lr_.push_back(o.max_lr);
    min_lr_.push_back(initial_lr_.back() / o.final_div_factor);
  }
  opt.set_initial_lrs(initial_lr_);
  base_lrs_ = initial_lr_;
  if (o.cycle_momentum) {
    Hyper h = opt.hyper(0);
    uses_beta1_ = h.count("beta1") > 0;
    XG_CHECK(uses_beta1_ || h.count("momentum"), "OneCycleLR: optimizer has neither momentum nor betas; ",
             "set cycle_momentum = false");
    for (size_t g = 0; g < opt.num_param_groups(); ++g) {
      Hyper hg = opt.hyper(g);
      hg[uses_beta1_ ? "beta1" : "momentum"] = o.max_momentum;
      opt.set_hyper(g, hg);
    }
  }
  initial_step();
}

std::vector<double> OneCycleLR::get_lr() {
  const int64_t step = last_epoch_;
  XG_CHECK(step <= o_.total_steps, "OneCycleLR: tried to step ", step, " times; the specified number of total steps is ",
           o_.total_steps);
  auto anneal = [&](double start, double end, double pct) {
    return o_.cos_anneal ? end + (start - end) / 2.0 * (std::cos(M_PI * pct) + 1) : (end - start) * pct + start;
  };
  std::vector<double> out;
  for (size_t g = 0; g < optimizer_.num_param_groups(); ++g) {
    auto value = [&](const char* which) {
      std::string w = which;
      if (w == "initial") return initial_lr_[g];
      if (w == "max") return max_lr_[g];
      if (w == "min") return min_lr_[g];
      return w == "max_m" ? o_.max_momentum : o_.base_momentum;
    };
    double start_step = 0, lr = 0, mom = 0;
    for (size_t i = 0; i < phases_.size(); ++i) {
      const Phase& ph = phases_[i];
      if (step <= ph.end_step || i + 1 == phases_.size()) {
        double pct = (step - start_step) / (ph.end_step - start_step);
        lr = anneal(value(ph.start_lr), value(ph.end_lr), pct);
        mom = anneal(value(ph.start_mom), value(ph.end_mom), pct);
        break;
      }
      start_step = ph.end_step;
    }
    out.push_back(lr);
    if (o_.cycle_momentum) {
      Hyper h = optimizer_.hyper(g);
      h[uses_beta1_ ? "beta1" : "momentum"] = mom;
      optimizer_.set_hyper(g, h);
    }
  }
  return out;
}

// ---------------------------------------------------------------- plateau

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& opt, Options o) : optimizer_(opt), o_(o) {
  XG_CHECK(o.factor < 1.0 && o.factor >= 0, "ReduceLROnPlateau: factor should be < 1.0, got ", o.factor);
  best_ = o.mode_min ? INFINITY : -INFINITY;
}
bool ReduceLROnPlateau::better(double a, double best) const {
  if (o_.mode_min) return o_.threshold_rel ? a < best * (1 - o_.threshold) : a < best - o_.threshold;
  return o_.threshold_rel ? a > best * (o_.threshold + 1) : a > best + o_.threshold;
}
void ReduceLROnPlateau::step(double metric) {
  last_epoch_++;
  if (better(metric, best_)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    num_bad_epochs_++;
  }
  if (cooldown_counter_ > 0) {
    cooldown_counter_--;
    num_bad_epochs_ = 0;
  }
  if (num_bad_epochs_ > o_.patience) {
    for (size_t g = 0; g < optimizer_.num_param_groups(); ++g) {
      double old_lr = optimizer_.lr(g), new_lr = std::max(old_lr * o_.factor, o_.min_lr);
      if (old_lr - new_lr > o_.eps) optimizer_.set_lr(g, new_lr);
    }
    cooldown_counter_ = o_.cooldown;
    num_bad_epochs_ = 0;
  }
}
std::vector<double> ReduceLROnPlateau::get_last_lr() const {
  std::vector<double> out;
  for (size_t g = 0; g < optimizer_.num_param_groups(); ++g) out.push_back(optimizer_.lr(g));
  return out;
}
NamedTensors ReduceLROnPlateau::state_dict() const {
  return {{"best", scalar_tensor(best_, kFloat64)},
          {"num_bad_epochs", scalar_tensor(static_cast<double>(num_bad_epochs_), kFloat64)},
          {"cooldown_counter", scalar_tensor(static_cast<double>(cooldown_counter_), kFloat64)},
          {"last_epoch", scalar_tensor(static_cast<double>(last_epoch_), kFloat64)}};
}
void ReduceLROnPlateau::load_state_dict(const NamedTensors& dict) {
  std::map<std::string, Tensor> d(dict.begin(), dict.end());
  for (const char* k : {"best", "num_bad_epochs", "cooldown_counter", "last_epoch"})
    XG_CHECK(d.count(k), "ReduceLROnPlateau: state has no ", k);
  best_ = d["best"].item<double>();
  num_bad_epochs_ = static_cast<int64_t>(d["num_bad_epochs"].item<double>());
  cooldown_counter_ = static_cast<int64_t>(d["cooldown_counter"].item<double>());
  last_epoch_ = static_cast<int64_t>(d["last_epoch"].item<double>());
}

// ---------------------------------------------------------------- sequential

SequentialLR::SequentialLR(Optimizer& opt, std::vector<std::shared_ptr<LRScheduler>> schedulers,
                           std::vector<int64_t> milestones)
    : LRScheduler(opt), schedulers_(std::move(schedulers)), milestones_(std::move(milestones)) {
  XG_CHECK(!schedulers_.empty(), "SequentialLR: needs at least one scheduler");
  XG_CHECK(milestones_.size() + 1 == schedulers_.size(), "SequentialLR: expects ", schedulers_.size() - 1,
           " milestones for ", schedulers_.size(), " schedulers, got ", milestones_.size());
  for (auto& s : schedulers_)
    XG_CHECK(&s->optimizer_ == &opt, "SequentialLR: every scheduler must drive the same optimizer");
  last_epoch_ = 0;
  for (size_t g = 0; g < opt.num_param_groups(); ++g) opt.set_lr(g, opt.initial_lrs()[g]);
  for (auto& s : schedulers_) s->last_epoch_ -= 1;
  schedulers_[0]->initial_step();
  last_lr_ = schedulers_[0]->get_last_lr();
}

void SequentialLR::step(std::optional<int64_t>) {
  last_epoch_++;
  size_t idx = std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin();
  auto& s = schedulers_[idx];
  if (idx > 0 && milestones_[idx - 1] == last_epoch_) s->step(0);
  else s->step();
  last_lr_ = s->get_last_lr();
}

// ---------------------------------------------------------------- warmup schedules

NoamLR::NoamLR(Optimizer& opt, int64_t d_model, int64_t warmup, double factor)
    : LRScheduler(opt), d_model_(d_model), warmup_(warmup), factor_(factor) {
  XG_CHECK(d_model > 0 && warmup > 0, "NoamLR: d_model and warmup_steps must be positive, got ", d_model, " and ", warmup);
  initial_step();
}
std::vector<double> NoamLR::get_lr() {
  const double s = static_cast<double>(last_epoch_ + 1);
  double lr = factor_ * std::pow(static_cast<double>(d_model_), -0.5) *
              std::min(std::pow(s, -0.5), s * std::pow(static_cast<double>(warmup_), -1.5));
  return std::vector<double>(base_lrs_.size(), lr);
}

LinearWarmupCosine::LinearWarmupCosine(Optimizer& opt, int64_t warmup, int64_t total, double min_lr)
    : LRScheduler(opt), warmup_(warmup), total_(total), min_lr_(min_lr) {
  XG_CHECK(warmup >= 0 && total > warmup, "LinearWarmupCosine: need 0 <= warmup_steps < total_steps, got ", warmup,
           " and ", total);
  XG_CHECK(min_lr >= 0, "LinearWarmupCosine: min_lr must be >= 0, got ", min_lr);
  initial_step();
}
std::vector<double> LinearWarmupCosine::get_lr() {
  std::vector<double> out;
  const int64_t s = last_epoch_;
  for (double b : base_lrs_) {
    if (s < warmup_) out.push_back(b * static_cast<double>(s + 1) / static_cast<double>(warmup_));
    else if (s >= total_) out.push_back(min_lr_);
    else out.push_back(cosine(min_lr_, b, static_cast<double>(s - warmup_), static_cast<double>(total_ - warmup_)));
  }
  return out;
}

}  // namespace xgrad::optim
