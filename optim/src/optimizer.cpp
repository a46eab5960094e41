#include "xgrad/optim/optimizer.hpp"

#include <algorithm>
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

namespace {

// A saved scalar: one element, finite; integral when asked. Returns a description of what is wrong, or "".
std::string scalar_problem(const Tensor& t, bool integral, double lo, double hi) {
  if (t.numel() != 1) return str("has shape ", t.sizes(), ", expected one number");
  if (t.dtype() == kBool) return "is Bool, expected a number";
  const double v = t.item<double>();
  if (!std::isfinite(v)) return str("is ", v);
  if (integral && v != std::floor(v)) return str("is ", v, ", expected a whole number");
  if (v < lo || v > hi) return str("is ", v, ", outside [", lo, ", ", hi, "]");
  return "";
}

// "state.G.I.name" → (G, I, name); false if the key has another form.
bool parse_state_key(const std::string& key, size_t& group, size_t& index, std::string& name) {
  if (key.rfind("state.", 0) != 0) return false;
  const size_t a = key.find('.', 6), b = a == std::string::npos ? a : key.find('.', a + 1);
  if (b == std::string::npos) return false;
  const std::string g = key.substr(6, a - 6), i = key.substr(a + 1, b - a - 1);
  auto digits = [](const std::string& x) {
    return !x.empty() && x.size() < 10 && std::all_of(x.begin(), x.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!digits(g) || !digits(i)) return false;
  group = std::stoul(g), index = std::stoul(i), name = key.substr(b + 1);
  return !name.empty();
}

}  // namespace

void Optimizer::load_state_dict(const NamedTensors& dict) {
  std::map<std::string, Tensor> d;
  std::vector<std::string> problems;
  for (const auto& [k, v] : dict) {
    if (!v.defined()) problems.push_back(str("'", k, "' is undefined"));
    else if (!d.emplace(k, v).second) problems.push_back(str("'", k, "' appears twice"));
  }
  // Groups: their sizes and hyper-parameters, checked as set_hyper would check them.
  std::vector<Hyper> new_hyper(params_.size());
  std::vector<std::vector<StateBuffer>> layout(params_.size());
  std::set<std::string> used;
  for (size_t g = 0; g < params_.size(); ++g) {
    const std::string n_key = str("group.", g, ".num_params");
    auto n = d.find(n_key);
    used.insert(n_key);
    if (n == d.end()) {
      problems.push_back(str("no parameter group ", g, " in the saved state"));
      continue;
    }
    if (auto why = scalar_problem(n->second, true, 0, 1e15); !why.empty()) problems.push_back(str("'", n_key, "' ", why));
    else if (static_cast<size_t>(n->second.item<double>()) != params_[g].size())
      problems.push_back(str("group ", g, " has ", params_[g].size(), " parameters here but ",
                             static_cast<int64_t>(n->second.item<double>()), " in the saved state"));
    new_hyper[g] = hyper(g);
    bool complete = true;
    for (auto& [k, v] : new_hyper[g]) {
      const std::string key = str("group.", g, ".", k);
      used.insert(key);
      auto it = d.find(key);
      std::string why = it == d.end() ? "is missing" : scalar_problem(it->second, false, -INFINITY, INFINITY);
      if (!why.empty()) problems.push_back(str("hyper-parameter '", key, "' ", why)), complete = false;
      else v = it->second.item<double>();
    }
    if (!complete) continue;
    try {
      layout[g] = check_hyper(g, new_hyper[g]);
    } catch (const Error& e) {
      problems.push_back(str("group ", g, ": ", e.what()));
    }
  }
  // State buffers: known names, each shaped like its parameter, step counts whole and non-negative.
  std::vector<std::vector<std::map<std::string, Tensor>>> new_state(params_.size());
  for (size_t g = 0; g < params_.size(); ++g) new_state[g].resize(params_[g].size());
  for (auto& [k, v] : d) {
    size_t g = 0, i = 0;
    std::string name;
    if (!parse_state_key(k, g, i, name)) {
      if (!used.count(k)) problems.push_back(str("unexpected entry '", k, "'"));
      continue;
    }
    if (g >= params_.size() || i >= params_[g].size()) {
      problems.push_back(str("state entry '", k, "' names no parameter"));
      continue;
    }
    const auto& known = layout[g];
    auto spec = std::find_if(known.begin(), known.end(), [&](const StateBuffer& b) { return name == b.name; });
    const Tensor& p = params_[g][i];
    if (spec == known.end()) {
      problems.push_back(str("state entry '", k, "': this optimizer keeps no '", name, "'"));
    } else if (spec->per_element) {
      if (v.sizes() != p.sizes() || !v.is_floating_point())
        problems.push_back(str("'", k, "': ", dtype_name(v.dtype()), v.sizes(), " in the saved state, parameter is ",
                               dtype_name(p.dtype()), p.sizes()));
      else new_state[g][i][name] = v.to(p.dtype()).clone();
    } else if (auto why = scalar_problem(v, spec->whole, spec->lo, spec->hi); !why.empty()) {
      problems.push_back(str("'", k, "' ", why));
    } else {
      new_state[g][i][name] = scalar_tensor(v.item<double>(), kFloat64);
    }
  }
  for (size_t g = 0; g < params_.size(); ++g)  // buffers without their step count would restart bias correction
    for (size_t i = 0; i < params_[g].size(); ++i) {
      const auto& st = new_state[g][i];
      const bool has_step_spec =
          std::any_of(layout[g].begin(), layout[g].end(), [](auto& b) { return std::string(b.name) == "step"; });
      if (has_step_spec && !st.empty() && !st.count("step"))
        problems.push_back(str("state of parameter ", i, " in group ", g, " has buffers but no step count"));
    }
  if (!problems.empty()) {
    std::ostringstream os;
    os << "optimizer load_state_dict: the saved state is for a different set of parameters or options; nothing "
          "was loaded:";
    for (auto& p : problems) os << "\n  " << p;
    throw Error(os.str());
  }
  for (size_t g = 0; g < params_.size(); ++g) set_hyper(g, new_hyper[g]);  // checked above: cannot throw
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
