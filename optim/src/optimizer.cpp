#include "xgrad/optim/optimizer.hpp"

#include <cmath>
#include <set>
#include <sstream>

#include "xgrad/grad_mode.hpp"
#include "xgrad/ops.hpp"

namespace xgrad::optim {

void check_in_range(double v, const Range& r, const char* what, const char* who) {
  bool ok = std::isfinite(v) && v >= r.lo && (r.hi_open ? v < r.hi : v <= r.hi);
  XG_CHECK(ok, who, ": invalid ", what, ": ", v, " (must be in [", r.lo, ", ", r.hi, r.hi_open ? ")" : "]", ")");
}

double Optimizer::step(const std::function<double()>& closure) {
  double loss;
  {
    AutoGradMode enable(true);
    loss = closure();
  }
  step();
  return loss;
}

void Optimizer::zero_grad(bool set_to_none) {
  for (auto& group : params_)
    for (auto& p : group) {
      if (!p.grad().defined()) continue;
      if (set_to_none) p.set_grad({});
      else p.grad().zero_();
    }
}

const TensorList& Optimizer::params(size_t group) const {
  XG_CHECK(group < params_.size(), "optimizer: no parameter group ", group, " (it has ", params_.size(), ")");
  return params_[group];
}

void Optimizer::set_lr(size_t group, double lr) {
  Hyper h = hyper(group);
  h["lr"] = lr;
  set_hyper(group, h);
}

const std::vector<double>& Optimizer::initial_lrs() {
  if (initial_lrs_.empty())  // torch: group.setdefault('initial_lr', group['lr'])
    for (size_t g = 0; g < num_param_groups(); ++g) initial_lrs_.push_back(lr(g));
  return initial_lrs_;
}

void Optimizer::set_initial_lrs(std::vector<double> lrs) {
  XG_CHECK(lrs.size() == num_param_groups(), "optimizer: ", lrs.size(), " initial learning rates for ",
           num_param_groups(), " parameter groups");
  initial_lrs_ = std::move(lrs);
}

void Optimizer::add_params(const TensorList& params, const char* who) {
  XG_CHECK(!params.empty(), who, ": a parameter group needs at least one parameter");
  std::set<TensorImpl*> seen;
  for (auto& g : params_)
    for (auto& p : g) seen.insert(p.impl_ptr().get());
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i];
    XG_CHECK(p.defined(), who, ": parameter ", i, " is undefined");
    XG_CHECK(p.is_floating_point() && p.is_leaf() && p.requires_grad(), who, ": parameter ", i,
             " must be a floating leaf tensor that requires grad");
    XG_CHECK(seen.insert(p.impl_ptr().get()).second, who, ": parameter ", i, " (shape ", p.sizes(),
             ") appears more than once; each parameter may belong to one group only");
  }
  params_.push_back(params);
  state_.emplace_back(params.size());
}

std::map<std::string, Tensor>& Optimizer::state(size_t group, size_t index) { return state_.at(group).at(index); }

NamedTensors Optimizer::state_dict() const {
  NamedTensors out;
  for (size_t g = 0; g < params_.size(); ++g) {
    for (auto& [k, v] : hyper(g)) out.emplace_back(str("group.", g, ".", k), scalar_tensor(v, kFloat64));
    out.emplace_back(str("group.", g, ".num_params"), scalar_tensor(static_cast<double>(params_[g].size()), kFloat64));
    for (size_t i = 0; i < params_[g].size(); ++i)
      for (auto& [k, v] : state_[g][i]) out.emplace_back(str("state.", g, ".", i, ".", k), v.detach().clone());
  }
  return out;
}

void Optimizer::load_state_dict(const NamedTensors& dict) {
  std::map<std::string, Tensor> d(dict.begin(), dict.end());
  std::vector<std::string> problems;
  for (size_t g = 0; g < params_.size(); ++g) {
    auto n = d.find(str("group.", g, ".num_params"));
    if (n == d.end()) {
      problems.push_back(str("no parameter group ", g, " in the saved state"));
      continue;
    }
    if (static_cast<size_t>(n->second.item<double>()) != params_[g].size())
      problems.push_back(str("group ", g, " has ", params_[g].size(), " parameters here but ",
                             static_cast<int64_t>(n->second.item<double>()), " in the saved state"));
  }
  if (d.count(str("group.", params_.size(), ".num_params")))
    problems.push_back(str("the saved state has more than ", params_.size(), " parameter groups"));
  std::vector<std::vector<std::map<std::string, Tensor>>> new_state(params_.size());
  std::vector<Hyper> new_hyper(params_.size());
  for (size_t g = 0; g < params_.size() && problems.empty(); ++g) {
    new_state[g].resize(params_[g].size());
    new_hyper[g] = hyper(g);
    for (auto& [k, v] : new_hyper[g]) {
      auto it = d.find(str("group.", g, ".", k));
      if (it == d.end()) problems.push_back(str("missing hyper-parameter group.", g, ".", k));
      else v = it->second.item<double>();
    }
    std::string prefix = str("state.", g, ".");
    for (auto& [k, v] : d) {
      if (k.compare(0, prefix.size(), prefix) != 0) continue;
      std::string rest = k.substr(prefix.size());
      size_t dot = rest.find('.');
      size_t i = dot == std::string::npos ? SIZE_MAX : std::strtoul(rest.substr(0, dot).c_str(), nullptr, 10);
      if (i >= params_[g].size()) {
        problems.push_back(str("state entry '", k, "' names no parameter"));
        continue;
      }
      std::string name = rest.substr(dot + 1);
      const Tensor& p = params_[g][i];
      bool per_element = v.dim() > 0;
      if (per_element && v.sizes() != p.sizes())
        problems.push_back(str("'", k, "': shape ", v.sizes(), " in the saved state, parameter is ", p.sizes()));
      else
        new_state[g][i][name] = per_element ? v.to(p.dtype()).clone() : v.clone();
    }
  }
  if (!problems.empty()) {
    std::ostringstream os;
    os << "optimizer load_state_dict: the saved state is for a different set of parameters; nothing was loaded:";
    for (auto& p : problems) os << "\n  " << p;
    throw Error(os.str());
  }
  for (size_t g = 0; g < params_.size(); ++g) set_hyper(g, new_hyper[g]);
  state_ = std::move(new_state);
}

void Optimizer::save(const std::string& path) const { save_npz(path, state_dict()); }
void Optimizer::load(const std::string& path) { load_state_dict(load_npz(path)); }

std::pair<TensorList, TensorList> split_weight_decay(const NamedTensors& named) {
  TensorList decay, no_decay;
  for (auto& [n, p] : named) (p.dim() >= 2 ? decay : no_decay).push_back(p);
  return {decay, no_decay};
}

}  // namespace xgrad::optim
