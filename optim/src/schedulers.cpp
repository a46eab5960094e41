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
  for (auto& [k, v] : extra_state()) out.emplace_back("own." + k, v);
  return out;
}

namespace {
// The saved scalars by name; an Error listing every entry that is not one finite number.
std::map<std::string, double> read_scalars(const NamedTensors& dict, const char* who) {
  std::map<std::string, double> out;
  std::vector<std::string> problems;
  for (auto& [k, v] : dict) {
    if (!v.defined() || v.numel() != 1 || v.dtype() == kBool || !std::isfinite(v.item<double>()))
      problems.push_back(str("'", k, "' is not one finite number"));
    else if (!out.emplace(k, v.item<double>()).second)
      problems.push_back(str("'", k, "' appears twice"));
  }
  XG_CHECK(problems.empty(), who, " load_state_dict: nothing was loaded: ", problems.front(),
           problems.size() > 1 ? str(" (and ", problems.size() - 1, " more)") : std::string());
  return out;
}
// A saved count: whole, within [lo, hi].
int64_t read_count(const std::map<std::string, double>& s, const std::string& key, double lo, double hi, const char* who) {
  auto it = s.find(key);
  XG_CHECK(it != s.end(), who, " load_state_dict: no '", key, "' in the saved state; nothing was loaded");
  XG_CHECK(it->second == std::floor(it->second) && it->second >= lo && it->second <= hi, who, " load_state_dict: '", key,
           "' is ", it->second, ", expected a whole number in [", lo, ", ", hi, "]; nothing was loaded");
  return static_cast<int64_t>(it->second);
}
double read_rate(const std::map<std::string, double>& s, const std::string& key, const char* who) {
  auto it = s.find(key);
  XG_CHECK(it != s.end(), who, " load_state_dict: no '", key, "' in the saved state (a different number of ",
           "parameter groups?); nothing was loaded");
  XG_CHECK(it->second >= 0, who, " load_state_dict: '", key, "' is ", it->second, "; nothing was loaded");
  return it->second;
}
constexpr double kMaxCount = 1e15;  // far beyond any run, far below where doubles stop being whole
}  // namespace

void LRScheduler::load_state_dict(const NamedTensors& dict) {
  const auto s = read_scalars(dict, "LRScheduler");
  const int64_t last_epoch = read_count(s, "last_epoch", -1, kMaxCount, "LRScheduler");
  std::vector<double> base(base_lrs_.size()), last(base_lrs_.size());
  for (size_t g = 0; g < base_lrs_.size(); ++g) {
    base[g] = read_rate(s, str("base_lr.", g), "LRScheduler");
    last[g] = read_rate(s, str("last_lr.", g), "LRScheduler");
  }
  XG_CHECK(!s.count(str("base_lr.", base_lrs_.size())), "LRScheduler load_state_dict: the saved state has more than ",
           base_lrs_.size(), " parameter groups; nothing was loaded");
  std::map<std::string, double> own;
  for (auto& [k, v] : s)
    if (k.rfind("own.", 0) == 0) own.emplace(k.substr(4), v);
  load_extra_state(own);  // checks and sets the schedule's own counters first: it may throw
  last_epoch_ = last_epoch, base_lrs_ = base, last_lr_ = last;
}

// ---------------------------------------------------------------- simple schedules

LambdaLR::LambdaLR(Optimizer& opt, const LambdaLROptions& o) : LRScheduler(opt), options_(o) {
  XG_CHECK(static_cast<bool>(o.lr_lambda()), "LambdaLR: lr_lambda is an empty function");
  initial_step();
}
std::vector<double> LambdaLR::get_lr() {
  std::vector<double> out;
  for (double b : base_lrs_) out.push_back(b * options_.lr_lambda()(last_epoch_));
  return out;
}

StepLR::StepLR(Optimizer& opt, const StepLROptions& o) : LRScheduler(opt), options_(o) {
  XG_CHECK(o.step_size() > 0, "StepLR: step_size must be positive, got ", o.step_size());
  initial_step();
}
std::vector<double> StepLR::get_lr() {
  const int64_t step_size = options_.step_size();
  std::vector<double> out;
  for (size_t g = 0; g < base_lrs_.size(); ++g)
    out.push_back(last_epoch_ == 0 || last_epoch_ % step_size != 0 ? group_lr(g) : group_lr(g) * options_.gamma());
  return out;
}
std::vector<double> StepLR::closed_form_lr() {
  std::vector<double> out;
  for (double b : base_lrs_)
    out.push_back(b * std::pow(options_.gamma(), static_cast<double>(last_epoch_ / options_.step_size())));
  return out;
}

MultiStepLR::MultiStepLR(Optimizer& opt, const MultiStepLROptions& o) : LRScheduler(opt), options_(o) {
  auto milestones = o.milestones();
  std::sort(milestones.begin(), milestones.end());
  options_.milestones(milestones);
  initial_step();
}
std::vector<double> MultiStepLR::get_lr() {
  const auto& milestones = options_.milestones();
  auto hits = std::count(milestones.begin(), milestones.end(), last_epoch_);
  std::vector<double> out;
  for (size_t g = 0; g < base_lrs_.size(); ++g)
    out.push_back(hits == 0 ? group_lr(g) : group_lr(g) * std::pow(options_.gamma(), static_cast<double>(hits)));
  return out;
}
std::vector<double> MultiStepLR::closed_form_lr() {
  const auto& milestones = options_.milestones();
  auto n = std::upper_bound(milestones.begin(), milestones.end(), last_epoch_) - milestones.begin();
  std::vector<double> out;
  for (double b : base_lrs_) out.push_back(b * std::pow(options_.gamma(), static_cast<double>(n)));
  return out;
}

ExponentialLR::ExponentialLR(Optimizer& opt, const ExponentialLROptions& o) : LRScheduler(opt), options_(o) {
  initial_step();
}
std::vector<double> ExponentialLR::get_lr() {
  std::vector<double> out;
  for (size_t g = 0; g < base_lrs_.size(); ++g)
    out.push_back(last_epoch_ == 0 ? group_lr(g) : group_lr(g) * options_.gamma());
  return out;
}
std::vector<double> ExponentialLR::closed_form_lr() {
  std::vector<double> out;
  for (double b : base_lrs_) out.push_back(b * std::pow(options_.gamma(), static_cast<double>(last_epoch_)));
  return out;
}

// ---------------------------------------------------------------- cosine

CosineAnnealingLR::CosineAnnealingLR(Optimizer& opt, const CosineAnnealingLROptions& o) : LRScheduler(opt), options_(o) {
  XG_CHECK(o.T_max() > 0, "CosineAnnealingLR: T_max must be positive, got ", o.T_max());
  initial_step();
}
std::vector<double> CosineAnnealingLR::get_lr() {
  std::vector<double> out;
  const int64_t T_max = options_.T_max();
  const double T = static_cast<double>(T_max), e = static_cast<double>(last_epoch_), eta_min = options_.eta_min();
  for (size_t g = 0; g < base_lrs_.size(); ++g) {
    double lr = group_lr(g), b = base_lrs_[g];
    if (last_epoch_ == 0) out.push_back(lr);
    else if (py_mod(last_epoch_ - 1 - T_max, 2 * T_max) == 0)
      out.push_back(lr + (b - eta_min) * (1 - std::cos(M_PI / T)) / 2);
    else
      out.push_back((1 + std::cos(M_PI * e / T)) / (1 + std::cos(M_PI * (e - 1) / T)) * (lr - eta_min) + eta_min);
  }
  return out;
}
std::vector<double> CosineAnnealingLR::closed_form_lr() {
  std::vector<double> out;
  for (double b : base_lrs_)
    out.push_back(cosine(options_.eta_min(), b, static_cast<double>(last_epoch_), static_cast<double>(options_.T_max())));
  return out;
}

CosineAnnealingWarmRestarts::CosineAnnealingWarmRestarts(Optimizer& opt, const CosineAnnealingWarmRestartsOptions& o)
    : LRScheduler(opt), options_(o), T_i_(o.T_0()) {
  XG_CHECK(o.T_0() > 0, "CosineAnnealingWarmRestarts: T_0 must be positive, got ", o.T_0());
  XG_CHECK(o.T_mult() >= 1, "CosineAnnealingWarmRestarts: T_mult must be >= 1, got ", o.T_mult());
  initial_step();
}
void CosineAnnealingWarmRestarts::step(std::optional<int64_t> epoch) {
  const int64_t T_0 = options_.T_0(), T_mult = options_.T_mult();
  if (!epoch && last_epoch_ < 0) epoch = 0;
  int64_t e;
  if (!epoch) {
    e = last_epoch_ + 1;
    if (++T_cur_ >= T_i_) {
      T_cur_ -= T_i_;
      T_i_ *= T_mult;
    }
  } else {
    e = *epoch;
    if (e >= T_0) {
      if (T_mult == 1) {
        T_cur_ = e % T_0;
      } else {
        auto n = static_cast<int64_t>(std::log(static_cast<double>(e) / T_0 * (T_mult - 1) + 1) / std::log(T_mult));
        int64_t p = 1;
        for (int64_t k = 0; k < n; ++k) p *= T_mult;
        T_cur_ = e - T_0 * (p - 1) / (T_mult - 1);
        T_i_ = T_0 * p;
      }
    } else {
      T_i_ = T_0;
      T_cur_ = e;
    }
  }
  last_epoch_ = e;
  auto values = get_lr();
  for (size_t g = 0; g < values.size(); ++g) optimizer_.set_lr(g, values[g]);
  last_lr_ = values;
}
NamedTensors CosineAnnealingWarmRestarts::extra_state() const {
  return {{"T_i", scalar_tensor(static_cast<double>(T_i_), kFloat64)},
          {"T_cur", scalar_tensor(static_cast<double>(T_cur_), kFloat64)}};
}
void CosineAnnealingWarmRestarts::load_extra_state(const std::map<std::string, double>& s) {
  const int64_t T_i = read_count(s, "T_i", 1, kMaxCount, "CosineAnnealingWarmRestarts");
  const int64_t T_cur = read_count(s, "T_cur", -1, static_cast<double>(T_i), "CosineAnnealingWarmRestarts");
  T_i_ = T_i, T_cur_ = T_cur;
}
std::vector<double> CosineAnnealingWarmRestarts::get_lr() {
  std::vector<double> out;
  for (double b : base_lrs_)
    out.push_back(cosine(options_.eta_min(), b, static_cast<double>(T_cur_), static_cast<double>(T_i_)));
  return out;
}

LinearLR::LinearLR(Optimizer& opt, const LinearLROptions& o) : LRScheduler(opt), options_(o) {
  const double start = o.start_factor(), end = o.end_factor();
  XG_CHECK(start > 0 && start <= 1 && end >= 0 && end <= 1, "LinearLR: start_factor must be in (0, 1] and ",
           "end_factor in [0, 1], got ", start, " and ", end);
  XG_CHECK(o.total_iters() > 0, "LinearLR: total_iters must be positive, got ", o.total_iters());
  initial_step();
}
std::vector<double> LinearLR::get_lr() {
  const double start = options_.start_factor(), end = options_.end_factor();
  const int64_t total = options_.total_iters();
  std::vector<double> out;
  for (size_t g = 0; g < base_lrs_.size(); ++g) {
    double lr = group_lr(g);
    if (last_epoch_ == 0) out.push_back(lr * start);
    else if (last_epoch_ > total) out.push_back(lr);
    else out.push_back(lr * (1.0 + (end - start) / (total * start + (last_epoch_ - 1) * (end - start))));
  }
  return out;
}
std::vector<double> LinearLR::closed_form_lr() {
  const double start = options_.start_factor(), end = options_.end_factor();
  const int64_t total = options_.total_iters();
  std::vector<double> out;
  for (double b : base_lrs_)
    out.push_back(b * (start + (end - start) * std::min(total, last_epoch_) / static_cast<double>(total)));
  return out;
}

// ---------------------------------------------------------------- one cycle

OneCycleLR::OneCycleLR(Optimizer& opt, const OneCycleLROptions& o) : LRScheduler(opt), options_(o) {
  XG_CHECK(o.total_steps() > 0, "OneCycleLR: total_steps must be positive, got ", o.total_steps());
  XG_CHECK(o.pct_start() >= 0 && o.pct_start() <= 1, "OneCycleLR: pct_start must be in [0, 1], got ", o.pct_start());
  const double T = static_cast<double>(o.total_steps()), pct = o.pct_start();
  using enum LrAt;
  using M = MomentumAt;
  if (o.three_phase())
    phases_ = {{pct * T - 1, Initial, Max, M::Max, M::Base},
               {2 * pct * T - 2, Max, Initial, M::Base, M::Max},
               {T - 1, Initial, Min, M::Max, M::Max}};
  else
    phases_ = {{pct * T - 1, Initial, Max, M::Max, M::Base}, {T - 1, Max, Min, M::Base, M::Max}};
  for (size_t g = 0; g < opt.num_param_groups(); ++g) {
    initial_lr_.push_back(o.max_lr() / o.div_factor());
    max_lr_.push_back(o.max_lr());
    min_lr_.push_back(initial_lr_.back() / o.final_div_factor());
  }
  opt.set_initial_lrs(initial_lr_);
  base_lrs_ = initial_lr_;
  if (o.cycle_momentum()) {
    Hyper h = opt.hyper(0);
    XG_CHECK(h.count("beta1") || h.count("momentum"), "OneCycleLR: optimizer has neither momentum nor betas; ",
             "set cycle_momentum(false)");
    momentum_name_ = h.count("beta1") ? "beta1" : "momentum";
    for (size_t g = 0; g < opt.num_param_groups(); ++g) opt.set_hyper(g, {{momentum_name_, o.max_momentum()}});
  }
  initial_step();
}

double OneCycleLR::lr_at(LrAt where, size_t group) const {
  switch (where) {
    case LrAt::Initial: return initial_lr_[group];
    case LrAt::Max: return max_lr_[group];
    case LrAt::Min: return min_lr_[group];
  }
  return 0;
}

double OneCycleLR::momentum_at(MomentumAt where) const {
  return where == MomentumAt::Max ? options_.max_momentum() : options_.base_momentum();
}

std::vector<double> OneCycleLR::get_lr() {
  const int64_t step = last_epoch_;
  XG_CHECK(step <= options_.total_steps(), "OneCycleLR: tried to step ", step,
           " times; the specified number of total steps is ", options_.total_steps());
  auto anneal = [&](double start, double end, double pct) {
    return options_.anneal_strategy() == kCos ? end + (start - end) / 2.0 * (std::cos(M_PI * pct) + 1)
                                               : (end - start) * pct + start;
  };
  std::vector<double> out;
  for (size_t g = 0; g < optimizer_.num_param_groups(); ++g) {
    double start_step = 0, lr = 0, momentum = 0;
    for (size_t i = 0; i < phases_.size(); ++i) {
      const Phase& ph = phases_[i];
      if (step <= ph.end_step || i + 1 == phases_.size()) {
        double pct = (step - start_step) / (ph.end_step - start_step);
        lr = anneal(lr_at(ph.start_lr, g), lr_at(ph.end_lr, g), pct);
        momentum = anneal(momentum_at(ph.start_momentum), momentum_at(ph.end_momentum), pct);
        break;
      }
      start_step = ph.end_step;
    }
    out.push_back(lr);
    if (options_.cycle_momentum()) optimizer_.set_hyper(g, {{momentum_name_, momentum}});
  }
  return out;
}

// ---------------------------------------------------------------- plateau

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& opt, const ReduceLROnPlateauOptions& o) : optimizer_(opt), options_(o) {
  XG_CHECK(o.factor() < 1.0 && o.factor() >= 0, "ReduceLROnPlateau: factor should be < 1.0, got ", o.factor());
  best_ = o.mode() == kMin ? INFINITY : -INFINITY;
}
bool ReduceLROnPlateau::better(double a, double best) const {
  const bool rel = options_.threshold_mode() == kRel;
  const double threshold = options_.threshold();
  if (options_.mode() == kMin) return rel ? a < best * (1 - threshold) : a < best - threshold;
  return rel ? a > best * (threshold + 1) : a > best + threshold;
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
  if (num_bad_epochs_ > options_.patience()) {
    for (size_t g = 0; g < optimizer_.num_param_groups(); ++g) {
      double old_lr = optimizer_.lr(g), new_lr = std::max(old_lr * options_.factor(), options_.min_lr());
      if (old_lr - new_lr > options_.eps()) optimizer_.set_lr(g, new_lr);
    }
    cooldown_counter_ = options_.cooldown();
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
  std::map<std::string, double> s;
  for (auto& [k, v] : dict) {
    XG_CHECK(v.defined() && v.numel() == 1 && v.dtype() != kBool, "ReduceLROnPlateau load_state_dict: '", k,
             "' is not one number; nothing was loaded");
    s[k] = v.item<double>();
  }
  XG_CHECK(s.count("best"), "ReduceLROnPlateau load_state_dict: no 'best' in the saved state; nothing was loaded");
  const double best = s["best"];
  // best starts at +inf (mode min) or −inf (mode max) until a first metric; NaN is never valid.
  XG_CHECK(std::isfinite(best) || best == (options_.mode() == kMin ? INFINITY : -INFINITY),
           "ReduceLROnPlateau load_state_dict: 'best' is ", best, "; nothing was loaded");
  const char* who = "ReduceLROnPlateau";
  std::map<std::string, double> finite;
  for (auto& [k, v] : s)
    if (k != "best") {
      XG_CHECK(std::isfinite(v), who, " load_state_dict: '", k, "' is ", v, "; nothing was loaded");
      finite[k] = v;
    }
  const int64_t bad = read_count(finite, "num_bad_epochs", 0, kMaxCount, who);
  const int64_t cooldown = read_count(finite, "cooldown_counter", 0, kMaxCount, who);
  const int64_t last = read_count(finite, "last_epoch", 0, kMaxCount, who);
  best_ = best, num_bad_epochs_ = bad, cooldown_counter_ = cooldown, last_epoch_ = last;
}

// ---------------------------------------------------------------- sequential

SequentialLR::SequentialLR(Optimizer& opt, const SequentialLROptions& o) : LRScheduler(opt), options_(o) {
  const auto& schedulers = o.schedulers();
  XG_CHECK(!schedulers.empty(), "SequentialLR: needs at least one scheduler");
  XG_CHECK(o.milestones().size() + 1 == schedulers.size(), "SequentialLR: expects ", schedulers.size() - 1,
           " milestones for ", schedulers.size(), " schedulers, got ", o.milestones().size());
  for (auto& s : schedulers) {
    XG_CHECK(s != nullptr, "SequentialLR: a scheduler is null");
    XG_CHECK(&s->optimizer_ == &opt, "SequentialLR: every scheduler must drive the same optimizer");
  }
  last_epoch_ = 0;
  for (size_t g = 0; g < opt.num_param_groups(); ++g) opt.set_lr(g, opt.initial_lrs()[g]);
  for (auto& s : schedulers) s->last_epoch_ -= 1;
  schedulers[0]->initial_step();
  last_lr_ = schedulers[0]->get_last_lr();
}

void SequentialLR::step(std::optional<int64_t>) {
  last_epoch_++;
  const auto& milestones = options_.milestones();
  size_t idx = std::upper_bound(milestones.begin(), milestones.end(), last_epoch_) - milestones.begin();
  auto& s = options_.schedulers()[idx];
  if (idx > 0 && milestones[idx - 1] == last_epoch_) s->step(0);
  else s->step();
  last_lr_ = s->get_last_lr();
}

NamedTensors SequentialLR::extra_state() const {
  NamedTensors out;
  const auto& schedulers = options_.schedulers();
  for (size_t k = 0; k < schedulers.size(); ++k)
    for (auto& [name, v] : schedulers[k]->state_dict()) out.emplace_back(str(k, ".", name), v);
  return out;
}
void SequentialLR::load_extra_state(const std::map<std::string, double>& s) {
  const auto& schedulers = options_.schedulers();
  std::vector<NamedTensors> parts(schedulers.size());
  for (auto& [k, v] : s) {
    const size_t dot = k.find('.');
    const std::string index = k.substr(0, dot);
    XG_CHECK(dot != std::string::npos && !index.empty() && index.size() < 6 &&
                 std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
                 std::stoul(index) < schedulers.size(),
             "SequentialLR load_state_dict: unexpected entry '", k, "'; nothing was loaded");
    parts[std::stoul(index)].emplace_back(k.substr(dot + 1), scalar_tensor(v, kFloat64));
  }
  // Each part is checked by loading it into a copy of the scheduler's state first.
  std::vector<NamedTensors> before;
  for (auto& sched : schedulers) before.push_back(sched->state_dict());
  try {
    for (size_t k = 0; k < schedulers.size(); ++k) schedulers[k]->load_state_dict(parts[k]);
  } catch (...) {
    for (size_t k = 0; k < schedulers.size(); ++k) schedulers[k]->load_state_dict(before[k]);
    throw;
  }
}

// ---------------------------------------------------------------- warmup schedules

NoamLR::NoamLR(Optimizer& opt, const NoamLROptions& o) : LRScheduler(opt), options_(o) {
  XG_CHECK(o.d_model() > 0 && o.warmup_steps() > 0, "NoamLR: d_model and warmup_steps must be positive, got ",
           o.d_model(), " and ", o.warmup_steps());
  initial_step();
}
std::vector<double> NoamLR::get_lr() {
  const double s = static_cast<double>(last_epoch_ + 1);
  double lr = options_.factor() * std::pow(static_cast<double>(options_.d_model()), -0.5) *
              std::min(std::pow(s, -0.5), s * std::pow(static_cast<double>(options_.warmup_steps()), -1.5));
  return std::vector<double>(base_lrs_.size(), lr);
}

LinearWarmupCosine::LinearWarmupCosine(Optimizer& opt, const LinearWarmupCosineOptions& o)
    : LRScheduler(opt), options_(o) {
  XG_CHECK(o.warmup_steps() >= 0 && o.total_steps() > o.warmup_steps(),
           "LinearWarmupCosine: need 0 <= warmup_steps < total_steps, got ", o.warmup_steps(), " and ", o.total_steps());
  XG_CHECK(o.min_lr() >= 0, "LinearWarmupCosine: min_lr must be >= 0, got ", o.min_lr());
  initial_step();
}
std::vector<double> LinearWarmupCosine::get_lr() {
  const int64_t s = last_epoch_, warmup = options_.warmup_steps(), total = options_.total_steps();
  const double min_lr = options_.min_lr();
  std::vector<double> out;
  for (double b : base_lrs_) {
    if (s < warmup) out.push_back(b * static_cast<double>(s + 1) / static_cast<double>(warmup));
    else if (s >= total) out.push_back(min_lr);
    else out.push_back(cosine(min_lr, b, static_cast<double>(s - warmup), static_cast<double>(total - warmup)));
  }
  return out;
}

}  // namespace xgrad::optim
