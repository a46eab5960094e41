#pragma once
// The optimizer base: parameter groups with their own options, zero_grad, step (optionally with
// a closure), and state that saves to .npz and loads back exactly (training resumes bit for bit).
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "xgrad/serialize.hpp"
#include "xgrad/tensor.hpp"

namespace xgrad::optim {

// Hyper-parameters by name, for schedulers and checkpoints ("lr", "momentum", "beta1", ...).
using Hyper = std::map<std::string, double>;

// One buffer of a parameter's optimizer state: shaped like the parameter (per element) or a scalar
// (the step count: a whole number; NAdam's mu_product: a real in [0, 1]). Each options struct says
// which buffers a step keeps (state_buffers()), and load_state_dict checks saved state against that.
struct StateBuffer {
  const char* name;
  bool per_element = true;
  bool whole = true;  // scalars: a count
  double lo = 0, hi = 1e15;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  // Re-evaluates the model (the closure returns the loss, having called backward), then steps.
  double step(const std::function<double()>& closure);
  void zero_grad(bool set_to_none = true);

  size_t num_param_groups() const { return params_.size(); }
  const TensorList& params(size_t group) const;
  double lr(size_t group) const { return hyper(group).at("lr"); }  // hyper checks the group
  void set_lr(size_t group, double lr);
  virtual Hyper hyper(size_t group) const = 0;
  virtual void set_hyper(size_t group, const Hyper& h) = 0;
  // What set_hyper(group, h) would do, without doing it: throws the Error it would throw; returns
  // the state buffers a step keeps with those hyper-parameters.
  virtual std::vector<StateBuffer> check_hyper(size_t group, const Hyper& h) const = 0;

  // State by name: "group.G.<hyper>" and "state.G.I.<buffer>" (I = index in the group).
  virtual NamedTensors state_dict() const;
  // All or nothing: every entry is checked (groups and their sizes, each hyper-parameter's presence
  // and range, each state buffer's name, dtype and shape against its parameter, step counts) before
  // anything changes; an Error lists every problem.
  virtual void load_state_dict(const NamedTensors& dict);
  void save(const std::string& path) const;
  void load(const std::string& path);

  // Each group's lr when the first scheduler was attached (torch's group['initial_lr']): the first
  // call records the current lrs, later calls return the recorded ones. Schedulers read and set
  // learning rates only through this API.
  const std::vector<double>& initial_lrs();
  void set_initial_lrs(std::vector<double> lrs);

 protected:
  // Registers a group's parameters: each must be a floating leaf that requires grad, and may
  // appear only once across groups.
  void add_params(const TensorList& params, const char* who);
  // The per-parameter state (exp_avg, step, ...), created empty on first use.
  std::map<std::string, Tensor>& state(size_t group, size_t index);
  std::vector<TensorList> params_;
  std::vector<std::vector<std::map<std::string, Tensor>>> state_;

 private:
  std::vector<double> initial_lrs_;
};

// Splits parameters as transformer training usually wants: matrices get weight decay; biases,
// LayerNorm weights and other vectors (dim < 2) do not. Returns {decay, no_decay}.
std::pair<TensorList, TensorList> split_weight_decay(const NamedTensors& named_parameters);

// ---- hyper-parameters declared once
// Each options struct lists its hyper-parameters in one static function,
//
//   template <class Self, class F> static void fields(Self& o, F&& f) {
//     f("lr", o.lr_, kNonNegative);  f("amsgrad", o.amsgrad_);  ...
//   }
//
// (name, field, and for numbers the range they must lie in), and everything else derives from that
// list: validate() (plus an optional `void check() const` for rules across fields), the group's
// entries in state dicts, and lookup by name for schedulers (Optimizer::hyper / set_hyper).
struct Range {
  double lo, hi;
  bool hi_open;  // [lo, hi) when true, [lo, hi] otherwise
};
inline constexpr Range kNonNegative{0.0, INFINITY, true};
inline constexpr Range kUnitOpen{0.0, 1.0, true};     // [0, 1)
inline constexpr Range kUnitClosed{0.0, 1.0, false};  // [0, 1]
inline constexpr Range kFinite{-INFINITY, INFINITY, true};

// Throws "<who>: invalid <what>: v (must be in [lo, hi))" unless v is finite and in range.
void check_in_range(double v, const Range& range, const char* what, const char* who);

template <class Options>
void validate_options(const Options& o) {
  Options::fields(o, [&](const char* name, const auto& value, auto... range) {
    const char* what = std::string_view(name) == "lr" ? "learning rate" : name;  // torch's word for it
    if constexpr (sizeof...(range) > 0) check_in_range(static_cast<double>(value), range..., what, Options::kName);
  });
  if constexpr (requires { o.check(); }) o.check();
}
template <class Options>
Hyper to_hyper(const Options& o) {
  Hyper h;
  Options::fields(o, [&](const char* name, const auto& value, auto...) { h[name] = static_cast<double>(value); });
  return h;
}
// Sets every field named in h (bools from 0/1); names h lacks keep their values.
template <class Options>
void from_hyper(Options& o, const Hyper& h) {
  Options::fields(o, [&](const char* name, auto& value, auto...) {
    auto it = h.find(name);
    if (it == h.end()) return;
    using V = std::remove_reference_t<decltype(value)>;
    value = std::is_same_v<V, bool> ? static_cast<V>(it->second != 0) : static_cast<V>(it->second);
  });
}

// The typed half of an optimizer: groups of (params, Options).
template <class Options>
class OptimizerWithOptions : public Optimizer {
 public:
  OptimizerWithOptions(const TensorList& params, const Options& options) { add_param_group(params, options); }
  explicit OptimizerWithOptions(const TensorList& params)
    requires std::is_default_constructible_v<Options>
      : OptimizerWithOptions(params, Options()) {}
  OptimizerWithOptions(const std::vector<std::pair<TensorList, Options>>& groups) {  // NOLINT
    for (auto& [p, o] : groups) add_param_group(p, o);
  }

  void add_param_group(const TensorList& params, const Options& options) {
    validate_options(options);
    add_params(params, Options::kName);
    options_.push_back(options);
  }
  Options& options(size_t group) { return options_[checked(group)]; }
  Hyper hyper(size_t group) const override { return to_hyper(options_[checked(group)]); }
  void set_hyper(size_t group, const Hyper& h) override {
    Options o = options_[checked(group)];
    from_hyper(o, h);
    validate_options(o);
    options_.at(group) = o;
  }
  std::vector<StateBuffer> check_hyper(size_t group, const Hyper& h) const override {
    Options o = options_[checked(group)];
    from_hyper(o, h);
    validate_options(o);
    return o.state_buffers();
  }

 protected:
  size_t checked(size_t group) const {
    XG_CHECK(group < options_.size(), Options::kName, ": no parameter group ", group, " (it has ", options_.size(), ")");
    return group;
  }
  std::vector<Options> options_;
};

}  // namespace xgrad::optim
